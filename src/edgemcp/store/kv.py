"""Workers KV through a Worker's KV binding: for sessions and cached results.

KV is eventually consistent (a write can take 60 s or more to reach other locations, and
a miss is cached too), accepts one write per second per key, and refuses TTLs under 60 s.
The capabilities say so, and ``Keyspace`` rounds shorter TTLs up to the floor. KV has no
atomic operations and no pub/sub: ``incr``, ``compare_and_set`` and ``take`` refuse (a
read-then-write on KV would silently lose updates), ``publish`` reaches nobody, and waiters
poll (see ``edgemcp.mailbox``). What must be exact belongs in the Durable Object store.

The binding is duck-typed (``get``/``put``/``delete`` returning awaitables), so this module
never imports ``js`` and runs under CPython with a fake binding in the tests.
"""

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from .base import Capabilities, StoreError, Subscription

KV_MIN_TTL = 60


class AtomicityRequired(StoreError):
    """The operation needs an atomic store; Workers KV has none."""


def as_bytes(value: Any) -> bytes | None:
    """Bytes from whatever a binding returned: None/null, bytes, a buffer, a JS ArrayBuffer
    or typed array (a Pyodide ``JsProxy`` with ``to_bytes``)."""
    if value is None or type(value).__name__ == "JsNull":
        return None
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    if hasattr(value, "to_bytes") and not isinstance(value, int):
        return bytes(value.to_bytes())
    if isinstance(value, str):
        return value.encode()
    raise TypeError(f"unexpected value from a binding: {type(value).__name__}")


def kv_ttl(ttl: float | None) -> int | None:
    """KV's ``expirationTtl``: whole seconds, at least 60."""
    return None if ttl is None else max(KV_MIN_TTL, math.ceil(ttl))


class WorkersKVStore:
    """A store over a KV namespace binding (``env.EDGEMCP_KV``)."""

    capabilities = Capabilities(consistency="eventual", atomic=False, pubsub=False, min_ttl=KV_MIN_TTL)

    def __init__(self, binding: Any) -> None:
        self.kv = binding

    async def get(self, key: str) -> bytes | None:
        try:
            value = await self.kv.get(key, type="arrayBuffer")
        except Exception as exc:
            raise StoreError(f"Workers KV get failed: {type(exc).__name__}") from exc
        return as_bytes(value)

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        expiration = kv_ttl(ttl)
        try:
            if expiration is None:
                await self.kv.put(key, value)
            else:
                await self.kv.put(key, value, expirationTtl=expiration)
        except Exception as exc:
            raise StoreError(f"Workers KV put failed: {type(exc).__name__}") from exc

    async def delete(self, key: str) -> None:
        try:
            await self.kv.delete(key)
        except Exception as exc:
            raise StoreError(f"Workers KV delete failed: {type(exc).__name__}") from exc

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        raise AtomicityRequired("incr needs an atomic store: use the Durable Object store")

    async def compare_and_set(
        self, key: str, expected: bytes | None, value: bytes, ttl: float | None = None
    ) -> bool:
        raise AtomicityRequired("compare_and_set needs an atomic store: use the Durable Object store")

    async def take(self, key: str, capacity: float, per_second: float, cost: float = 1) -> float:
        raise AtomicityRequired("token buckets need an atomic store: use the Durable Object store")

    async def publish(self, channel: str, message: bytes) -> None:
        """No pub/sub on KV: nobody hears this. Waiters poll the store instead."""

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        # A subscription that never receives: listeners get keepalives, not change events.
        yield Subscription()

    async def aclose(self) -> None:
        """Bindings belong to the runtime: nothing to close."""
