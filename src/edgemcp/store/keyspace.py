"""A store seen through one app's namespace, with msgpack values."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgpack

from .base import Store, Subscription


class DecodedSubscription:
    def __init__(self, raw: Subscription) -> None:
        self.raw = raw

    async def get(self) -> Any:
        return msgpack.unpackb(await self.raw.get())


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
        return None if raw is None else msgpack.unpackb(raw)

    def _ttl(self, ttl: float | None) -> float | None:
        # One place honours the backend's TTL floor (Workers KV refuses TTLs under 60 s).
        floor = self.store.capabilities.min_ttl
        return ttl if ttl is None or ttl >= floor else floor

    async def set(self, name: str, value: Any, ttl: float | None = None) -> None:
        await self.store.set(self.prefix + name, msgpack.packb(value), self._ttl(ttl))

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
            self.prefix + name, None if expected is None else msgpack.packb(expected),
            msgpack.packb(value), self._ttl(ttl),
        )

    async def publish(self, channel: str, value: Any) -> None:
        await self.store.publish(self.prefix + channel, msgpack.packb(value))

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[DecodedSubscription]:
        async with self.store.subscribe(self.prefix + channel) as raw:
            yield DecodedSubscription(raw)
