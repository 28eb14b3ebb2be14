"""edgemcp with two tools that await the 20 ms downstream service (workload j): ``quote``
(uncached: every call goes downstream) and ``cached_quote`` (the same, cached for a minute in
the public scope). The store is EDGEMCP_STORE's (memory, or Redis for the Redis row)."""

from ._downstream import fetch_quote
from .edgemcp_app import build

app = build()


@app.tool(read_only=True)
async def quote(symbol: str) -> str:
    """The latest price of a symbol, from the downstream quote service."""
    return await fetch_quote(symbol)


@app.tool(read_only=True, cache_ttl=60, cache_scope="public")
async def cached_quote(symbol: str) -> str:
    """The latest price of a symbol, cached for a minute (shared by all callers)."""
    return await fetch_quote(symbol)


asgi = app.asgi()
