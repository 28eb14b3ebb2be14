"""The call every server of workload (j) makes: GET a quote from the stub downstream service
(``BENCH_UPSTREAM_URL``, see downstream_stub.py) through one shared ``httpx.AsyncClient`` with
keep-alive, created at the first call on the server's event loop: what an app would write."""

import os

import httpx

_client: httpx.AsyncClient | None = None


def _shared() -> httpx.AsyncClient:
    global _client
    if _client is None:
        # Every pooled connection kept alive: with httpx's default of 20 idle connections, c=64
        # would reopen connections all the time and measure TCP setup, not the call.
        _client = httpx.AsyncClient(
            timeout=10, limits=httpx.Limits(max_connections=100, max_keepalive_connections=100))
    return _client


async def fetch_quote(symbol: str) -> str:
    """``SYMBOL:PRICE`` from the downstream service (it answers after 20 ms)."""
    response = await _shared().get(os.environ["BENCH_UPSTREAM_URL"], params={"symbol": symbol})
    response.raise_for_status()
    quote = response.json()
    return f"{quote['symbol']}:{quote['price']}"
