"""A store seen through OpenTelemetry: one CLIENT span per operation, under the request's.

The app puts it in place only once an SDK tracer is active, so until then store calls
pay nothing. Keys are not recorded (they hold session ids); the span says which kind of
record was touched (``session``, ``cache``, ...) in ``db.collection.name``.
"""

from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..store.base import Store, Subscription
from ..store.keyspace import key_kind

if TYPE_CHECKING:
    from .telemetry import Telemetry


class _Span:
    """One store operation's span: ended when the operation is, failed on an exception."""

    __slots__ = ("span", "telemetry")

    def __init__(self, telemetry: "Telemetry", name: str, attributes: dict[str, Any]) -> None:
        self.telemetry = telemetry
        self.span = telemetry.start_client_span(name, attributes)

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.span is None:
            return
        if exc is not None:
            self.telemetry.fail(self.span, exc)
        self.span.end()


class TracedStore:
    def __init__(self, store: Store, telemetry: "Telemetry") -> None:
        self.store = store
        self.telemetry = telemetry
        self.capabilities = store.capabilities
        self.system = type(store).__name__.removesuffix("Store").lower() or "store"

    def _span(self, operation: str, key: str) -> _Span:
        return _Span(self.telemetry, f"{operation} {self.system}", {
            "db.system.name": self.system, "db.operation.name": operation,
            "db.collection.name": key_kind(key),
        })

    async def get(self, key: str) -> bytes | None:
        with self._span("GET", key):
            return await self.store.get(key)

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        with self._span("SET", key):
            await self.store.set(key, value, ttl)

    async def delete(self, key: str) -> None:
        with self._span("DELETE", key):
            await self.store.delete(key)

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        with self._span("INCR", key):
            return await self.store.incr(key, amount, ttl)

    async def compare_and_set(self, key: str, expected: bytes | None, value: bytes,
                              ttl: float | None = None) -> bool:
        with self._span("CAS", key):
            return await self.store.compare_and_set(key, expected, value, ttl)

    async def take(self, key: str, capacity: float, per_second: float, cost: float = 1) -> float:
        with self._span("TAKE", key):
            return await self.store.take(key, capacity, per_second, cost)

    async def publish(self, channel: str, message: bytes) -> None:
        with self._span("PUBLISH", channel):
            await self.store.publish(channel, message)

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[Subscription]:
        return self.store.subscribe(channel)

    async def aclose(self) -> None:
        await self.store.aclose()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)
