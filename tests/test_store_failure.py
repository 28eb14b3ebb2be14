"""What clients see when Redis goes away and comes back, and sliding session expiry.

Redis runs with an fsync'd append-only file here, as a deployment that promises not to
lose acknowledged sessions would run it."""

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from edgemcp import EdgeMCP

from .conftest import RedisServer

ACCEPT = "application/json, text/event-stream"
MODERN = "2026-07-28"


def build(store: str, **options: Any) -> EdgeMCP:
    app = EdgeMCP("failure-test", secret="k", store=store, **options)

    @app.tool()
    def plain() -> str:
        return "still here"

    @app.tool(cache_ttl=60, cache_scope="public")
    def cached() -> str:
        return "computed"

    return app


@pytest.fixture
def durable_redis(tmp_path: Path) -> AsyncIterator[RedisServer]:
    server = RedisServer(tmp_path, None, "--appendonly", "yes", "--appendfsync", "always")
    yield server  # type: ignore[misc]
    server.stop()


async def initialize(client: httpx.AsyncClient) -> httpx.Response:
    return await client.post("/mcp", headers={"accept": ACCEPT}, json={
        "jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})


async def handshake_call(client: httpx.AsyncClient, session: str, name: str) -> httpx.Response:
    return await client.post("/mcp", headers={"accept": ACCEPT, "mcp-session-id": session}, json={
        "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name}})


async def modern_call(client: httpx.AsyncClient, name: str) -> httpx.Response:
    return await client.post("/mcp", headers={
        "accept": ACCEPT, "mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": name,
    }, json={"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "_meta": {
        "io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}}})


async def test_redis_down_then_back(durable_redis: RedisServer, caplog: pytest.LogCaptureFixture) -> None:
    app = build(durable_redis.url)
    transport = httpx.ASGITransport(app=app.asgi())
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        session = (await initialize(client)).headers["mcp-session-id"]
        assert (await handshake_call(client, session, "plain")).status_code == 200
        warm = await modern_call(client, "cached")
        assert warm.json()["result"]["_meta"]["dev.edgemcp/cache"] == "miss"

        durable_redis.stop()

        # Requests that need a session: a clear 503 with Retry-After, never a 500.
        down = await handshake_call(client, session, "plain")
        assert down.status_code == 503
        assert down.headers["retry-after"] == "5"
        assert down.json()["error"]["code"] == -32603
        assert "Traceback" not in down.text
        fresh = await initialize(client)
        assert fresh.status_code == 503 and "mcp-session-id" not in fresh.headers
        reply = await client.post("/mcp", headers={"accept": ACCEPT, "mcp-session-id": session},
                                  json={"jsonrpc": "2.0", "id": "edgemcp-x", "result": {}})
        assert reply.status_code == 503

        # Stateless 2026-07-28 requests keep working; the cache passes through.
        with caplog.at_level(logging.WARNING, logger="edgemcp"):
            assert (await modern_call(client, "plain")).json()["result"]["content"][0]["text"] == "still here"
            degraded = (await modern_call(client, "cached")).json()["result"]
        assert degraded["content"][0]["text"] == "computed"
        assert degraded["_meta"]["dev.edgemcp/cache"] == "unavailable"
        assert "cache unavailable for tool cached" in caplog.text

        durable_redis.start()

        # Recovery needs no restart of the app, and the acknowledged session survived.
        for _ in range(50):
            back = await handshake_call(client, session, "plain")
            if back.status_code == 200:
                break
            await asyncio.sleep(0.1)
        assert back.status_code == 200
        assert back.json()["result"]["content"][0]["text"] == "still here"
        assert (await modern_call(client, "cached")).json()["result"]["_meta"]["dev.edgemcp/cache"] == "hit"
    await app.runtime.store.aclose()


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_sessions_slide_and_expire(backend: str, request: pytest.FixtureRequest) -> None:
    url = "memory://" if backend == "memory" else request.getfixturevalue("redis_server").url
    app = build(url, session_ttl=1.0)
    transport = httpx.ASGITransport(app=app.asgi())
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        session = (await initialize(client)).headers["mcp-session-id"]
        await asyncio.sleep(0.6)
        assert (await handshake_call(client, session, "plain")).status_code == 200  # refreshes
        await asyncio.sleep(0.6)
        assert (await handshake_call(client, session, "plain")).status_code == 200  # slid
        await asyncio.sleep(1.2)
        expired = await handshake_call(client, session, "plain")
        assert expired.status_code == 404
        assert "initialize" in expired.json()["error"]["message"]
    await app.runtime.store.aclose()
