"""The Durable Object behind ``edgemcp.store.durable.DurableObjectStore``.

Export it from the Worker's main module and bind it (``EDGEMCP_DO`` in wrangler.toml,
with a ``new_sqlite_classes`` migration). Each method is one RPC from the client; a
Durable Object runs one event at a time and holds its input gate while it awaits its
own storage, so each read-then-write below is atomic.
"""

from typing import Any

from workers import DurableObject

from edgemcp.store.durable import StoreObject


class EdgeMCPStore(DurableObject):
    def __init__(self, ctx: Any, env: Any) -> None:
        super().__init__(ctx, env)
        self.records = StoreObject(self.ctx.storage)

    async def store_get(self, key: str) -> bytes | None:
        return await self.records.get(key)

    async def store_set(self, key: str, value: Any, ttl: float | None) -> None:
        await self.records.set(key, value, ttl)

    async def store_delete(self, key: str) -> None:
        await self.records.delete(key)

    async def store_incr(self, key: str, amount: int, ttl: float | None) -> int:
        return await self.records.incr(key, amount, ttl)

    async def store_compare_and_set(self, key: str, expected: Any, value: Any, ttl: float | None) -> bool:
        return await self.records.compare_and_set(key, expected, value, ttl)

    async def store_take(self, key: str, capacity: float, per_second: float, cost: float) -> float:
        return await self.records.take(key, capacity, per_second, cost)
