"""A store seen through OpenTelemetry: one CLIENT span per operation, under the request's.

Keys are not recorded (they hold session ids); the span says which kind of record was
touched (``session``, ``cache``, ...) in ``db.collection.name``. While no SDK is
configured, each operation goes straight to the store.
"""

from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .base import Store, Subscription

if TYPE_CHECKING:
    from ..telemetry import Telemetry


class _Ending:
    """Ends a span when the operation does, marking it failed on an exception."""

    __slots__ = ("span", "telemetry")

    def __init__(self, span: Any, telemetry: "Telemetry") -> None:
        self.span = span
        self.telemetry = telemetry

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is not None:
            self.telemetry.fail(self.span, exc)
        self.span.end()


class TracedStore:
    def __init__(self, store: Store, telemetry: "Telemetry") -> None:
        self.store = store
        self.telemetry = telemetry
        self.capabilities = store.capabilities
        self.system = type(store).__name__.removesuffix("Store").lower() or "store"

    def _span(self, operation: str, key: str) -> _Ending | None:
        if self.telemetry.tracer() is None:
            return None
        span = self.telemetry.start_client_span(f"{operation} {self.system}", {
            "db.system.name": self.system, "db.operation.name": operation,
            "db.collection.name": _kind(key),
        })
        return _Ending(span, self.telemetry)

    async def get(self, key: str) -> bytes | None:
        span = self._span("GET", key)
        if span is None:
            return await self.store.get(key)
        with span:
            return await self.store.get(key)

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        span = self._span("SET", key)
        if span is None:
            return await self.store.set(key, value, ttl)
        with span:
            return await self.store.set(key, value, ttl)

    async def delete(self, key: str) -> None:
        span = self._span("DELETE", key)
        if span is None:
            return await self.store.delete(key)
        with span:
            return await self.store.delete(key)

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        span = self._span("INCR", key)
        if span is None:
            return await self.store.incr(key, amount, ttl)
        with span:
            return await self.store.incr(key, amount, ttl)

    async def compare_and_set(self, key: str, expected: bytes | None, value: bytes,
                              ttl: float | None = None) -> bool:
        span = self._span("CAS", key)
        if span is None:
            return await self.store.compare_and_set(key, expected, value, ttl)
        with span:
            return await self.store.compare_and_set(key, expected, value, ttl)

    async def take(self, key: str, capacity: float, per_second: float, cost: float = 1) -> float:
        span = self._span("TAKE", key)
        if span is None:
            return await self.store.take(key, capacity, per_second, cost)
        with span:
            return await self.store.take(key, capacity, per_second, cost)

    async def publish(self, channel: str, message: bytes) -> None:
        span = self._span("PUBLISH", channel)
        if span is None:
            return await self.store.publish(channel, message)
        with span:
            return await self.store.publish(channel, message)

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[Subscription]:
        return self.store.subscribe(channel)

    async def aclose(self) -> None:
        await self.store.aclose()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def _kind(key: str) -> str:
    # "edgemcp:{app}:session:abc" -> "session"; "edgemcp:{app}:killswitches" -> "killswitches"
    parts = key.split(":", 3)
    return parts[2] if len(parts) > 2 else "other"
