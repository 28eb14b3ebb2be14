"""Tool result cache, driven by each tool's ``cache_ttl`` and ``cache_scope``.

Key: tool name, a digest of the tool's schemas (a changed tool never serves old results),
the scope (``public``, or the caller's principal for ``private``) and a digest of the
canonical arguments. Only complete, successful results are stored: never errors, never
MRTR interim results, never results of MRTR retries. Concurrent misses for one key in
this replica wait for the first call instead of running the tool again.

A private-scope tool called without an authenticated principal is not cached at all:
there is no authorization context to keep callers apart.
"""

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from ..protocol.meta import CACHE
from ..protocol.principal import ANONYMOUS, Principal
from ..registry.tools import Tool
from ..store import Keyspace, StoreError

log = logging.getLogger("edgemcp")

Status = Literal["hit", "miss", "bypass", "collapsed", "uncacheable", "unavailable"]
Result = dict[str, Any]


def cacheable(result: Result) -> bool:
    return not result.get("isError") and result.get("resultType", "complete") == "complete"


class ResultCache:
    def __init__(self, keyspace: Keyspace) -> None:
        self.keyspace = keyspace
        self._inflight: dict[str, asyncio.Future[Result]] = {}

    def key(self, tool: Tool, arguments: dict[str, Any], principal: Principal) -> str | None:
        assert tool.cache is not None
        if tool.cache.scope == "public":
            scope = "public"
        elif principal.key != ANONYMOUS.key:
            scope = "p:" + hashlib.sha256(principal.key.encode()).hexdigest()[:32]
        else:
            return None
        canonical = json.dumps(arguments, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256(canonical.encode()).hexdigest()
        return f"cache:{tool.name}:{tool.schema_digest}:{scope}:{digest}"

    async def call(
        self,
        tool: Tool,
        arguments: dict[str, Any],
        principal: Principal,
        bypass: bool,
        produce: Callable[[], Awaitable[Result]],
    ) -> Result:
        key = self.key(tool, arguments, principal)
        if key is None:
            return _mark(await produce(), "uncacheable")
        if bypass:
            result = await produce()
            await self._store(key, tool, result)  # a fresh result refreshes the entry
            return _mark(result, "bypass")
        try:
            cached = await self.keyspace.get(key)
        except StoreError:
            log.warning("cache unavailable for tool %s: calling it directly", tool.name)
            return _mark(await produce(), "unavailable")
        if cached is not None:
            return _mark(cached, "hit")
        leader = self._inflight.get(key)
        if leader is not None:
            try:
                shared = await asyncio.shield(leader)
            except Exception:
                shared = None
            if shared is not None and cacheable(shared):
                return _mark(dict(shared), "collapsed")
            return _mark(await produce(), "miss")
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            result = await produce()
            future.set_result(result)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here, so an unshared failure is not "never retrieved"
            raise
        finally:
            self._inflight.pop(key, None)
        await self._store(key, tool, result)
        return _mark(result, "miss")

    async def _store(self, key: str, tool: Tool, result: Result) -> None:
        assert tool.cache is not None
        if not cacheable(result) or tool.cache.ttl_ms <= 0:
            return
        try:
            await self.keyspace.set(key, result, tool.cache.ttl_ms / 1000)
        except StoreError:
            log.warning("cache unavailable for tool %s: result not stored", tool.name)


def _mark(result: Result, status: Status) -> Result:
    marked = dict(result)
    marked["_meta"] = {**result.get("_meta", {}), CACHE: status}
    return marked
