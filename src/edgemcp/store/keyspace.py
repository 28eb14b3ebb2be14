"""A store seen through one app's namespace, with msgpack values."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgpack

from .base import Store, Subscription

BIG_INT = 1  # msgpack extension type: an integer beyond 64 bits, as its decimal digits


def pack(value: Any) -> bytes:
    """msgpack, exact for integers of any size (JSON allows them; msgpack stops at 64 bits)."""
    try:
        packed: bytes = msgpack.packb(value)
    except OverflowError:
        packed = msgpack.packb(_exact(value))
    return packed


def unpack(raw: bytes) -> Any:
    return msgpack.unpackb(raw, ext_hook=_from_ext)


def _exact(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        return msgpack.ExtType(BIG_INT, str(value).encode())
    if isinstance(value, dict):
        return {key: _exact(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_exact(item) for item in value]
    return value


def _from_ext(code: int, data: bytes) -> Any:
    return int(data) if code == BIG_INT else msgpack.ExtType(code, data)


class DecodedSubscription:
    def __init__(self, raw: Subscription) -> None:
        self.raw = raw

    async def get(self) -> Any:
        return unpack(await self.raw.get())


def key_kind(key: str) -> str:
    """The kind of record a store key holds: ``edgemcp:{app}:session:abc`` -> ``session``
    (a key outside any keyspace: its first segment)."""
    parts = key.split(":", 3)
    return parts[2] if len(parts) > 2 and parts[0] == "edgemcp" else parts[0]


class Keyspace:
    def __init__(self, store: Store, namespace: str) -> None:
        self.store = store
        self.prefix = f"edgemcp:{namespace}:"  # key_kind reads this shape

    def key(self, name: str) -> str:
        return self.prefix + name

    async def get(self, name: str) -> Any:
        raw = await self.store.get(self.prefix + name)
        return None if raw is None else unpack(raw)

    def _ttl(self, ttl: float | None) -> float | None:
        # One place honours the backend's TTL floor (Workers KV refuses TTLs under 60 s).
        floor = self.store.capabilities.min_ttl
        return ttl if ttl is None or ttl >= floor else floor

    async def set(self, name: str, value: Any, ttl: float | None = None) -> None:
        await self.store.set(self.prefix + name, pack(value), self._ttl(ttl))

    async def delete(self, name: str) -> None:
        await self.store.delete(self.prefix + name)

    async def incr(self, name: str, amount: int = 1, ttl: float | None = None) -> int:
        """A counter (stored as the store's own integer, not msgpack: read it with ``count``)."""
        return await self.store.incr(self.prefix + name, amount, self._ttl(ttl))

    async def count(self, name: str) -> int:
        raw = await self.store.get(self.prefix + name)
        return 0 if raw is None else int(raw)

    async def take(self, name: str, capacity: float, per_second: float, cost: float = 1) -> float:
        return await self.store.take(self.prefix + name, capacity, per_second, cost)

    async def compare_and_set(self, name: str, expected: Any, value: Any, ttl: float | None = None) -> bool:
        return await self.store.compare_and_set(
            self.prefix + name, None if expected is None else pack(expected),
            pack(value), self._ttl(ttl),
        )

    async def publish(self, channel: str, value: Any) -> None:
        await self.store.publish(self.prefix + channel, pack(value))

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[DecodedSubscription]:
        async with self.store.subscribe(self.prefix + channel) as raw:
            yield DecodedSubscription(raw)
