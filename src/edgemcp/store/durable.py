"""A strongly consistent store on Durable Objects: for what must be exact.

Two halves. ``DurableObjectStore`` is the client: it calls a Durable Object over Workers
RPC through a namespace binding (``env.EDGEMCP_DO``). ``StoreObject`` is what the object
does on its own storage; ``workers/store_object.py`` wraps it in a ``DurableObject`` class.

A Durable Object runs one event at a time and holds its input gate while it awaits its
own storage, so every operation below (a read, then a write) is atomic without locks, as
long as it awaits nothing but storage. Keys are spread over ``shards`` objects by a stable
hash; an operation touches one key, so it runs in one object. There is no pub/sub:
waiters poll (see ``edgemcp.mailbox``).

Both halves take their bindings duck-typed, so CPython tests drive them with fakes.
"""

import time
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import msgpack

from .base import Capabilities, StoreError, Subscription, refill
from .kv import as_bytes


class DurableObjectStore:
    """Client side: every operation is one RPC to the object that owns the key."""

    capabilities = Capabilities(consistency="strong", atomic=True, pubsub=False)

    def __init__(self, namespace: Any, *, name: str = "edgemcp-store", shards: int = 1) -> None:
        if shards < 1:
            raise ValueError("shards must be at least 1")
        self.namespace = namespace
        self.name = name
        self.shards = shards

    def _stub(self, key: str) -> Any:
        shard = zlib.crc32(key.encode()) % self.shards
        return self.namespace.getByName(f"{self.name}:{shard}")

    async def _call(self, key: str, method: str, *args: Any) -> Any:
        try:
            return await getattr(self._stub(key), method)(key, *args)
        except Exception as exc:
            raise StoreError(f"Durable Object store {method} failed: {type(exc).__name__}") from exc

    async def get(self, key: str) -> bytes | None:
        return as_bytes(await self._call(key, "store_get"))

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        await self._call(key, "store_set", value, ttl)

    async def delete(self, key: str) -> None:
        await self._call(key, "store_delete")

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        return int(await self._call(key, "store_incr", amount, ttl))

    async def compare_and_set(
        self, key: str, expected: bytes | None, value: bytes, ttl: float | None = None
    ) -> bool:
        return bool(await self._call(key, "store_compare_and_set", expected, value, ttl))

    async def take(self, key: str, capacity: float, per_second: float, cost: float = 1) -> float:
        return float(await self._call(key, "store_take", capacity, per_second, cost))

    async def publish(self, channel: str, message: bytes) -> None:
        """No pub/sub across Durable Objects here: waiters poll."""

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        yield Subscription()  # never receives: listeners get keepalives only

    async def aclose(self) -> None:
        """Bindings belong to the runtime: nothing to close."""


class StoreObject:
    """The operations a Durable Object performs on its storage (``ctx.storage``: async
    ``get``, ``put`` and ``delete``). Each record is msgpack ``[value, expires_at]`` so one
    storage value round-trips through RPC and structured clone as plain bytes."""

    def __init__(self, storage: Any, clock: Callable[[], float] = time.time) -> None:
        self.storage = storage
        self.clock = clock

    async def _load(self, key: str) -> tuple[bytes, float | None] | None:
        raw = as_bytes(await self.storage.get(key))
        if raw is None:
            return None
        value, expires = msgpack.unpackb(raw)
        if expires is not None and expires <= self.clock():
            await self.storage.delete(key)
            return None
        return bytes(value), expires

    async def _read(self, key: str) -> bytes | None:
        record = await self._load(key)
        return None if record is None else record[0]

    async def _write(self, key: str, value: bytes, ttl: float | None) -> None:
        expires = None if ttl is None else self.clock() + float(ttl)
        await self.storage.put(key, msgpack.packb([value, expires]))

    async def get(self, key: str) -> bytes | None:
        return await self._read(key)

    async def set(self, key: str, value: Any, ttl: float | None) -> None:
        await self._write(key, as_bytes(value) or b"", ttl)

    async def delete(self, key: str) -> None:
        await self.storage.delete(key)

    async def incr(self, key: str, amount: int, ttl: float | None) -> int:
        record = await self._load(key)
        if record is None:
            await self._write(key, str(amount).encode(), ttl)
            return amount
        number = int(record[0]) + amount
        await self.storage.put(key, msgpack.packb([str(number).encode(), record[1]]))  # keeps its expiry
        return number

    async def compare_and_set(self, key: str, expected: Any, value: Any, ttl: float | None) -> bool:
        if await self._read(key) != as_bytes(expected):
            return False
        await self._write(key, as_bytes(value) or b"", ttl)
        return True

    async def take(self, key: str, capacity: float, per_second: float, cost: float) -> float:
        now = self.clock()
        raw = await self._read(key)
        tokens, stamp = msgpack.unpackb(raw) if raw is not None else (capacity, now)
        tokens, wait = refill(tokens, stamp, now, capacity, per_second, cost)
        # A full bucket needs no record: expire it once it would have refilled.
        await self._write(key, msgpack.packb([tokens, now]), capacity / per_second + 1)
        return wait
