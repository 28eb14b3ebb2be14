"""In-process store for development and tests: one process, TTLs honoured, instant pub/sub."""

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from .base import Capabilities, Subscription, refill


class MemoryStore:
    capabilities = Capabilities(consistency="strong", atomic=True, pubsub=True)

    def __init__(self) -> None:
        self._data: dict[str, tuple[bytes, float | None]] = {}
        self._channels: dict[str, set[Subscription]] = {}
        self._buckets: dict[str, tuple[float, float]] = {}
        self._writes = 0

    def _live(self, key: str) -> bytes | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        value, expires = entry
        if expires is not None and expires <= time.monotonic():
            del self._data[key]
            return None
        return value

    def _put(self, key: str, value: bytes, ttl: float | None) -> None:
        self._data[key] = (value, None if ttl is None else time.monotonic() + ttl)
        self._writes += 1
        if self._writes % 1024 == 0:
            self._sweep()

    def _sweep(self) -> None:
        now = time.monotonic()
        for key in [k for k, (_, exp) in self._data.items() if exp is not None and exp <= now]:
            del self._data[key]

    async def get(self, key: str) -> bytes | None:
        return self._live(key)

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        self._put(key, value, ttl)

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        current = self._live(key)
        if current is None:
            number = amount
            self._put(key, str(number).encode(), ttl)
        else:
            number = int(current) + amount
            self._data[key] = (str(number).encode(), self._data[key][1])
        return number

    async def compare_and_set(
        self, key: str, expected: bytes | None, value: bytes, ttl: float | None = None
    ) -> bool:
        if self._live(key) != expected:
            return False
        self._put(key, value, ttl)
        return True

    async def take(self, key: str, capacity: float, per_second: float, cost: float = 1) -> float:
        now = time.monotonic()
        tokens, stamp = self._buckets.get(key, (capacity, now))
        tokens, wait = refill(tokens, stamp, now, capacity, per_second, cost)
        self._buckets[key] = (tokens, now)
        return wait

    async def publish(self, channel: str, message: bytes) -> None:
        for subscription in self._channels.get(channel, ()):
            subscription.queue.put_nowait(message)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        subscription = Subscription()
        self._channels.setdefault(channel, set()).add(subscription)
        try:
            yield subscription
        finally:
            subscribers = self._channels.get(channel)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._channels[channel]

    async def aclose(self) -> None:
        self._data.clear()
