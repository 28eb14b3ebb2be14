"""Two stores behind one interface: an exact one for what must be exact, a cheap one
for the rest. On Cloudflare: Workers KV for sessions and cached results, a Durable Object
for replies to server-to-client requests, cancellations, rate limits, idempotency claims,
kill switches, tasks (records, leases, cancellations, counts), SSE event logs and
stream leases, and a session's pending client requests.

Keys are routed by their kind, the segment after the app's namespace
(``edgemcp:{app}:{kind}:…``), so every operation on one key goes to one store.
"""

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from .base import Capabilities, Store, Subscription
from .keyspace import key_kind

# What must be seen at once by every isolate, or changed atomically. SSE event logs
# (``events``), the change log (``changes``) and open-stream leases (``streams``) change by
# compare-and-set and are read back at once by other isolates (state/events.py).
EXACT_KINDS = frozenset({"reply", "cancel", "rate", "idem", "killswitches",
                         "task", "task-lease", "task-cancel", "task-quota",
                         "events", "changes", "streams", "pending"})


class SplitStore:
    """Routes each key by kind. The capabilities are the exact store's consistency and
    atomicity, because every kind that relies on them goes there; an atomic operation on
    a kind routed to the cheap store is refused by that store. The TTL floor is each
    store's own business (Workers KV rounds up by itself), so a short TTL on an exact
    kind stays short."""

    def __init__(self, default: Store, exact: Store, exact_kinds: Iterable[str] = EXACT_KINDS) -> None:
        self.default = default
        self.exact = exact
        self.exact_kinds = frozenset(exact_kinds)
        self.capabilities = Capabilities(
            consistency=exact.capabilities.consistency, atomic=exact.capabilities.atomic,
            pubsub=default.capabilities.pubsub and exact.capabilities.pubsub,
            min_ttl=exact.capabilities.min_ttl,
        )

    def route(self, key: str) -> Store:
        return self.exact if key_kind(key) in self.exact_kinds else self.default

    async def get(self, key: str) -> bytes | None:
        return await self.route(key).get(key)

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        await self.route(key).set(key, value, ttl)

    async def delete(self, key: str) -> None:
        await self.route(key).delete(key)

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        return await self.route(key).incr(key, amount, ttl)

    async def compare_and_set(
        self, key: str, expected: bytes | None, value: bytes, ttl: float | None = None
    ) -> bool:
        return await self.route(key).compare_and_set(key, expected, value, ttl)

    async def take(self, key: str, capacity: float, per_second: float, cost: float = 1) -> float:
        return await self.route(key).take(key, capacity, per_second, cost)

    async def publish(self, channel: str, message: bytes) -> None:
        await self.route(channel).publish(channel, message)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        async with self.route(channel).subscribe(channel) as subscription:
            yield subscription

    async def aclose(self) -> None:
        await self.default.aclose()
        await self.exact.aclose()
