"""Idempotency keys: a retried call with the same key gets the first result replayed.

The key comes from ``_meta["dev.edgemcp/idempotencyKey"]`` or the ``Idempotency-Key``
header, scoped to the principal and the tool. The first call claims the key atomically
(compare-and-set); a duplicate that arrives while it runs waits up to ``wait`` seconds for
its result, then gets a conflict error. Only successful results are kept (for ``ttl``); a
failed call frees the key, so the client can retry it.

The claim is a lease: it lives ``lease`` seconds and the call renews it every third of
that while it runs. So a replica that dies mid-call frees the key within one lease (a
retry then runs the call), and a call that runs for an hour keeps its key for an hour.
"""

import asyncio
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..protocol.errors import IDEMPOTENCY_CONFLICT, ErrorKind, MCPError, invalid_params
from ..protocol.meta import IDEMPOTENCY
from ..protocol.principal import Principal
from ..store import Keyspace, StoreError

log = logging.getLogger("edgemcp")

Result = dict[str, Any]


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class Idempotency:
    def __init__(self, keyspace: Keyspace, ttl: float = 86400.0, wait: float = 10.0,
                 lease: float = 10.0) -> None:
        self.keyspace = keyspace
        self.ttl = ttl
        self.wait = wait
        self.lease = lease

    async def run(self, key: str, tool: str, arguments: dict[str, Any], principal: Principal,
                  produce: Callable[[], Awaitable[Result]]) -> Result:
        if not isinstance(key, str) or not 1 <= len(key) <= 255:
            raise invalid_params("idempotency key must be a string of 1 to 255 characters")
        name = f"idem:{_digest([principal.key, tool, key])[:32]}"
        claim = {"state": "running", "args": _digest(arguments), "run": secrets.token_urlsafe(9)}
        if not await self.keyspace.compare_and_set(name, None, claim, self.lease):
            return await self._replay(name, claim["args"], tool)
        # Most calls end long before their claim needs renewing: the renewer starts only then.
        loop = asyncio.get_running_loop()
        renewer: list[asyncio.Task[None]] = []
        later = loop.call_later(self.lease / 3, lambda: renewer.append(loop.create_task(self._hold(name, claim))))
        try:
            result = await produce()
        except BaseException:
            await self.keyspace.delete(name)
            raise
        finally:
            later.cancel()
            for task in renewer:
                task.cancel()
        if result.get("isError") or result.get("resultType", "complete") != "complete":
            await self.keyspace.delete(name)
        else:
            await self.keyspace.set(name, {"state": "done", "args": claim["args"], "result": result}, self.ttl)
        return result

    async def _hold(self, name: str, claim: dict[str, Any]) -> None:
        """Renew the claim while the call runs (only while it is still this call's)."""
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                if not await self.keyspace.compare_and_set(name, claim, claim, self.lease):
                    return
            except StoreError:
                log.warning("idempotency: could not renew a claim (store unavailable)")

    async def _replay(self, name: str, args: str, tool: str) -> Result:
        deadline = time.monotonic() + self.wait
        pause = 0.02
        while True:
            record = await self.keyspace.get(name)
            if record is None:
                raise _conflict(tool, "the first call with this key failed; retry with a new key")
            if record.get("args") != args:
                raise _conflict(tool, "this idempotency key was used with different arguments")
            if record.get("state") == "done":
                replayed: Result = dict(record["result"])
                replayed["_meta"] = {**replayed.get("_meta", {}), IDEMPOTENCY: "replayed"}
                return replayed
            if time.monotonic() >= deadline:
                raise _conflict(tool, "a call with this idempotency key is still running")
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.5)


def _conflict(tool: str, why: str) -> MCPError:
    return MCPError(IDEMPOTENCY_CONFLICT, f"Idempotency conflict on '{tool}': {why}",
                    {"tool": tool}, kind=ErrorKind.CONFLICT)
