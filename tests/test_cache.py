"""The tool result cache, on the in-memory store and on a real Redis: scope isolation,
sharing, TTL expiry, no caching of errors, bypass, and collapsed concurrent misses."""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from edgemcp import Context, EdgeMCP, Principal, ToolError
from edgemcp.guards import HTTPRequest
from edgemcp.store import open_store

MODERN = "2026-07-28"
CACHE = "dev.edgemcp/cache"


def identify(request: HTTPRequest) -> Principal | None:
    """Test identity: the x-test-user header names the caller (no auth required)."""
    user = request.headers.get("x-test-user")
    return Principal(subject=user, tenant="acme") if user else None


def build(store_url: str, calls: Counter[str]) -> EdgeMCP:
    app = EdgeMCP("cache-test", secret="k", store=store_url, auth=identify, auth_required=False)

    @app.tool(cache_ttl=60, cache_scope="private", read_only=True)
    def balance(account: str, ctx: Context) -> str:
        calls["balance"] += 1
        return f"{ctx.principal.subject} has {calls['balance']} in {account}"

    @app.tool(cache_ttl=60, cache_scope="public", read_only=True)
    def weather(city: str) -> str:
        calls["weather"] += 1
        return f"{city}: sunny #{calls['weather']}"

    @app.tool(cache_ttl=0.4, cache_scope="public")
    def short_lived() -> str:
        calls["short_lived"] += 1
        return f"v{calls['short_lived']}"

    @app.tool(cache_ttl=60, cache_scope="public")
    def flaky() -> str:
        calls["flaky"] += 1
        raise ToolError(f"failure {calls['flaky']}")

    @app.tool(cache_ttl=60, cache_scope="public")
    async def slow(x: int) -> str:
        calls["slow"] += 1
        await asyncio.sleep(0.3)
        return f"slow {x}"

    @app.tool()
    def uncached() -> str:
        calls["uncached"] += 1
        return "fresh"

    return app


@pytest.fixture(params=["memory", "redis"])
async def setup(request: pytest.FixtureRequest) -> AsyncIterator[tuple[httpx.AsyncClient, Counter[str]]]:
    url = "memory://" if request.param == "memory" else request.getfixturevalue("redis_server").url
    calls: Counter[str] = Counter()
    app = build(url, calls)
    if request.param == "redis":  # a clean slate: earlier runs used the same namespace
        store = open_store(url)
        await store.client.flushdb()  # type: ignore[attr-defined]
        await store.aclose()
    transport = httpx.ASGITransport(app=app.asgi())
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        yield client, calls
    await app.runtime.store.aclose()


async def call(client: httpx.AsyncClient, name: str, arguments: dict[str, Any] | None = None,
               user: str | None = None, meta: dict[str, Any] | None = None,
               **headers: str) -> dict[str, Any]:
    request_headers = {"accept": "application/json, text/event-stream", "mcp-protocol-version": MODERN,
                       "mcp-method": "tools/call", "mcp-name": name, **headers}
    if user:
        request_headers["x-test-user"] = user
    response = await client.post("/mcp", headers=request_headers, json={
        "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": name, "arguments": arguments or {},
            "_meta": {"io.modelcontextprotocol/protocolVersion": MODERN,
                      "io.modelcontextprotocol/clientCapabilities": {}, **(meta or {})}}})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["result"]
    return result


def text_of(result: dict[str, Any]) -> str:
    return str(result["content"][0]["text"])


async def test_private_results_never_cross_principals(setup: tuple[httpx.AsyncClient, Counter[str]]) -> None:
    client, calls = setup
    alice = await call(client, "balance", {"account": "main"}, user="alice")
    bob = await call(client, "balance", {"account": "main"}, user="bob")
    assert text_of(alice) == "alice has 1 in main"
    assert text_of(bob) == "bob has 2 in main"
    assert alice["_meta"][CACHE] == bob["_meta"][CACHE] == "miss"
    again = await call(client, "balance", {"account": "main"}, user="alice")
    assert text_of(again) == "alice has 1 in main"
    assert again["_meta"][CACHE] == "hit"
    assert again["ttlMs"] == 60000 and again["cacheScope"] == "private"
    assert calls["balance"] == 2


async def test_private_scope_without_a_principal_is_not_cached(setup: tuple[httpx.AsyncClient, Counter[str]]) -> None:
    client, calls = setup
    first = await call(client, "balance", {"account": "x"})
    second = await call(client, "balance", {"account": "x"})
    assert first["_meta"][CACHE] == second["_meta"][CACHE] == "uncacheable"
    assert calls["balance"] == 2


async def test_public_results_are_shared(setup: tuple[httpx.AsyncClient, Counter[str]]) -> None:
    client, calls = setup
    first = await call(client, "weather", {"city": "Oslo"}, user="alice")
    second = await call(client, "weather", {"city": "Oslo"}, user="bob")
    other_city = await call(client, "weather", {"city": "Lima"}, user="bob")
    assert text_of(first) == text_of(second) == "Oslo: sunny #1"
    assert second["_meta"][CACHE] == "hit"
    assert text_of(other_city) == "Lima: sunny #2"
    assert calls["weather"] == 2


async def test_entries_expire_with_the_ttl(setup: tuple[httpx.AsyncClient, Counter[str]]) -> None:
    client, calls = setup
    assert text_of(await call(client, "short_lived")) == "v1"
    assert text_of(await call(client, "short_lived")) == "v1"
    await asyncio.sleep(0.6)
    expired = await call(client, "short_lived")
    assert text_of(expired) == "v2"
    assert expired["_meta"][CACHE] == "miss"
    assert calls["short_lived"] == 2


async def test_errors_are_never_cached(setup: tuple[httpx.AsyncClient, Counter[str]]) -> None:
    client, calls = setup
    first = await call(client, "flaky")
    second = await call(client, "flaky")
    assert first["isError"] and second["isError"]
    assert text_of(second) == "failure 2"
    assert second["ttlMs"] == 0
    assert calls["flaky"] == 2


async def test_bypass_runs_the_tool_and_refreshes(setup: tuple[httpx.AsyncClient, Counter[str]]) -> None:
    client, calls = setup
    await call(client, "weather", {"city": "Rome"})
    bypassed = await call(client, "weather", {"city": "Rome"}, meta={CACHE: "bypass"})
    assert bypassed["_meta"][CACHE] == "bypass"
    assert text_of(bypassed) == "Rome: sunny #2"
    no_cache = await call(client, "weather", {"city": "Rome"}, **{"cache-control": "no-cache"})
    assert text_of(no_cache) == "Rome: sunny #3"
    hit = await call(client, "weather", {"city": "Rome"})
    assert (hit["_meta"][CACHE], text_of(hit)) == ("hit", "Rome: sunny #3")
    assert calls["weather"] == 3


async def test_concurrent_misses_collapse(setup: tuple[httpx.AsyncClient, Counter[str]]) -> None:
    client, calls = setup
    results = await asyncio.gather(*(call(client, "slow", {"x": 7}) for _ in range(8)))
    assert calls["slow"] == 1
    assert {text_of(r) for r in results} == {"slow 7"}
    statuses = Counter(r["_meta"][CACHE] for r in results)
    assert statuses == Counter({"miss": 1, "collapsed": 7})


async def test_tools_without_ttl_are_untouched(setup: tuple[httpx.AsyncClient, Counter[str]]) -> None:
    client, calls = setup
    result = await call(client, "uncached")
    await call(client, "uncached")
    assert "_meta" not in result or CACHE not in result["_meta"]
    assert "ttlMs" not in result
    assert calls["uncached"] == 2


def test_a_changed_schema_changes_the_key() -> None:
    first, second = EdgeMCP("a"), EdgeMCP("a")

    @first.tool(name="t", cache_ttl=5, cache_scope="public")
    def one(x: int) -> str:
        return ""

    @second.tool(name="t", cache_ttl=5, cache_scope="public")
    def two(x: str) -> str:
        return ""

    assert first.tools["t"].schema_digest != second.tools["t"].schema_digest
