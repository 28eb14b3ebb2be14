"""The key-value interface every piece of shared state goes through.

Like an httpx transport: a small Protocol with swappable backends. Backends speak bytes
and plain string keys; ``Keyspace`` adds per-app namespacing and msgpack on top.
"""

import asyncio
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from ..protocol.errors import ServiceUnavailable


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a backend guarantees, so features can refuse a store that cannot serve them
    at start-up rather than at the first request."""

    consistency: Literal["strong", "eventual"]
    atomic: bool  # incr and compare_and_set are atomic across replicas
    pubsub: bool  # publish reaches subscribers at once (else: poll)
    min_ttl: float = 0.0  # seconds; shorter TTLs are rounded up to this


def refill(tokens: float, stamp: float, now: float, capacity: float, per_second: float,
           cost: float) -> tuple[float, float]:
    """One token-bucket step, for stores that keep ``(tokens, stamp)`` themselves: the
    bucket's new token count, and 0 if ``cost`` was taken, else the seconds to wait (then
    nothing is taken). The Redis store does the same in Lua."""
    tokens = min(capacity, tokens + max(0.0, now - stamp) * per_second)
    if tokens < cost:
        return tokens, (cost - tokens) / per_second
    return min(capacity, tokens - cost), 0.0


class StoreError(ServiceUnavailable):
    """The store cannot be reached or refused an operation: the request is answered with
    ``protocol.errors.unavailable()`` (503, retry later)."""


class Subscription:
    """Messages on one channel, in order. ``get`` is safe to cancel (for timeouts)."""

    CLOSED = object()

    def __init__(self) -> None:
        self.queue: asyncio.Queue[object] = asyncio.Queue()

    async def get(self) -> bytes:
        item = await self.queue.get()
        if item is Subscription.CLOSED:
            self.queue.put_nowait(item)  # stays closed for later calls
            raise StoreError("subscription lost: the store connection dropped")
        assert isinstance(item, bytes)
        return item


@runtime_checkable
class Store(Protocol):
    capabilities: Capabilities

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Store ``value``; ``ttl`` in seconds, ``None`` for no expiry."""

    async def delete(self, key: str) -> None: ...

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        """Add ``amount`` to an integer counter; ``ttl`` applies when the key is created."""

    async def compare_and_set(
        self, key: str, expected: bytes | None, value: bytes, ttl: float | None = None
    ) -> bool:
        """Set ``value`` only if the current value is ``expected`` (``None``: absent)."""

    async def take(self, key: str, capacity: float, per_second: float, cost: float = 1) -> float:
        """Token bucket: take ``cost`` tokens from the bucket at ``key`` (full at first,
        refilled at ``per_second`` up to ``capacity``). Returns 0 if taken, else the seconds
        until enough tokens will be there (nothing is taken then). A negative cost refunds."""

    async def publish(self, channel: str, message: bytes) -> None: ...

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[Subscription]:
        """Messages published on ``channel`` after the context is entered."""

    async def aclose(self) -> None: ...
