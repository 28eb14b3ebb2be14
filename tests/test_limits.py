"""The limits a hostile client meets, each crossed (the documented error) and kept under
(it works): the body read deadline (a real uvicorn, raw sockets), new sessions per
principal or address, open listen and GET streams per principal, and a session's pending
server-to-client requests. Thousands of connections at once: tests/test_abuse.py."""

import asyncio
import json
import time
import types
from collections.abc import Iterator
from typing import Any

import pytest

from edgemcp import Context, EdgeMCP
from edgemcp.guards import BearerTokens
from edgemcp.inprocess import InProcess
from edgemcp.store import memory as memory_store
from edgemcp.store.kv import WorkersKVStore
from edgemcp.testing import Client, ResponseError

from . import rawhttp
from .conftest import Server
from .fakes.cloudflare import FakeKVNamespace

MODERN = "2026-07-28"
HANDSHAKE = "2025-11-25"
ACCEPT = "application/json, text/event-stream"
META = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}


# ----- the body read deadline (slowloris) ---------------------------------------------------


@pytest.fixture(scope="module")
def slow_bodies() -> Iterator[Server]:
    server = Server("tests.apps.limits:app", {"EDGEMCP_TEST_BODY_TIMEOUT": "2"})
    yield server
    server.stop()


def call_body(text: str) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": {"name": "echo", "arguments": {"text": text}, "_meta": META}}).encode()


CALL_HEADERS = {"content-type": "application/json", "accept": ACCEPT, "mcp-protocol-version": MODERN,
                "mcp-method": "tools/call", "mcp-name": "echo"}


async def test_a_body_that_does_not_arrive_in_time_gets_408_and_the_connection_closes(slow_bodies: Server) -> None:
    body = call_body("slow")
    for sent in (b"", body[:10]):  # nothing after the head, or a part of the body, then nothing
        reader, writer = await asyncio.open_connection("127.0.0.1", slow_bodies.port)
        writer.write(rawhttp.request_head(slow_bodies.port, CALL_HEADERS, len(body)) + sent)
        await writer.drain()
        status, headers, answer = await rawhttp.read_response(reader)
        assert status == 408 and headers["connection"] == "close"
        assert answer["error"] == {"code": -32600, "message": "Request Timeout: the body did not arrive within 2 s"}
        assert await asyncio.wait_for(reader.read(), 15) == b""  # the server closed the connection
        writer.close()


async def test_a_slow_body_within_the_deadline_is_served(slow_bodies: Server) -> None:
    body = call_body("in pieces")
    reader, writer = await asyncio.open_connection("127.0.0.1", slow_bodies.port)
    writer.write(rawhttp.request_head(slow_bodies.port, CALL_HEADERS, len(body)))
    for start in range(0, len(body), len(body) // 3 + 1):
        await writer.drain()
        await asyncio.sleep(0.2)
        writer.write(body[start:start + len(body) // 3 + 1])
    await writer.drain()
    status, _, answer = await rawhttp.read_response(reader)
    assert status == 200 and answer["result"]["content"][0]["text"] == "in pieces"
    writer.close()


# ----- new sessions per principal, or per address ------------------------------------------------


def limited_app(**options: Any) -> EdgeMCP:
    app = EdgeMCP("limited", secret="s3cret", **options)

    @app.tool()
    async def ask(ctx: Context) -> str:
        answer = await ctx.elicit("Confirm?", {"type": "object", "properties": {"ok": {"type": "boolean"}}})
        return str(answer.get("action"))

    return app


async def initialize(driver: InProcess, **headers: str) -> tuple[int, dict[str, str], dict[str, Any]]:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": HANDSHAKE, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}).encode()
    sent = [(b"host", b"localhost"), (b"content-type", b"application/json"), (b"accept", ACCEPT.encode()),
            *((k.encode(), v.encode()) for k, v in headers.items())]
    response = await driver.request("POST", "/mcp", sent, body)
    return response.status, response.headers, json.loads(await response.body())


async def test_new_sessions_past_the_rate_get_429_with_retry_after() -> None:
    async with InProcess(limited_app(session_rate="3/minute").asgi()) as driver:
        for _ in range(3):
            assert (await initialize(driver))[0] == 200
        status, headers, answer = await initialize(driver)
    assert status == 429 and int(headers["retry-after"]) >= 1
    error = answer["error"]
    assert error["code"] == -31429 and error["message"].startswith("Too many new sessions (3 per 60s)")
    assert error["data"]["layer"] == "session" and error["data"]["limit"] == 3
    assert "mcp-session-id" not in headers


async def test_the_default_session_rate_lets_a_burst_of_five_hundred_through(monkeypatch: pytest.MonkeyPatch) -> None:
    # The memory store's bucket clock stands still, so the refill (50 a second) cannot blur the burst.
    monkeypatch.setattr(memory_store, "time", types.SimpleNamespace(monotonic=lambda: 1000.0, time=time.time))
    async with InProcess(limited_app().asgi()) as driver:
        statuses = [(await initialize(driver))[0] for _ in range(501)]
    assert statuses == [200] * 500 + [429]


async def test_each_principal_has_its_own_session_budget() -> None:
    app = limited_app(session_rate="1/minute", auth=BearerTokens({"agent-a": "token-a", "agent-b": "token-b"}))
    async with InProcess(app.asgi()) as driver:
        assert (await initialize(driver, authorization="Bearer token-a"))[0] == 200
        assert (await initialize(driver, authorization="Bearer token-a"))[0] == 429
        assert (await initialize(driver, authorization="Bearer token-b"))[0] == 200


async def test_anonymous_callers_are_counted_per_address() -> None:
    app = limited_app(session_rate="1/minute")
    async with InProcess(app.asgi(), client=("192.0.2.1", 1000)) as one:
        assert (await initialize(one))[0] == 200
        assert (await initialize(one))[0] == 429
    async with InProcess(app.asgi(), client=("192.0.2.2", 1000)) as other:
        assert (await initialize(other))[0] == 200


async def test_on_a_store_without_atomic_operations_sessions_are_limited_per_process() -> None:
    """Workers KV alone (FAKE binding): the bucket lives in the process, not in KV."""
    app = limited_app(store=WorkersKVStore(FakeKVNamespace()), session_rate="2/minute")
    async with InProcess(app.asgi()) as driver:
        statuses = [(await initialize(driver))[0] for _ in range(3)]
    assert statuses == [200, 200, 429]


# ----- open streams per principal: subscriptions/listen and GET share one budget -----------


def listen_request() -> tuple[list[tuple[bytes, bytes]], bytes]:
    headers = [(b"host", b"localhost"), (b"content-type", b"application/json"), (b"accept", ACCEPT.encode()),
               (b"mcp-protocol-version", MODERN.encode()), (b"mcp-method", b"subscriptions/listen")]
    body = json.dumps({"jsonrpc": "2.0", "id": 7, "method": "subscriptions/listen",
                       "params": {"notifications": {"toolsListChanged": True}, "_meta": META}}).encode()
    return headers, body


async def first_event(response: Any) -> dict[str, Any]:
    async for chunk in response.chunks():
        for line in chunk.decode().splitlines():
            if line.startswith("data: "):
                return dict(json.loads(line[6:]))
    raise AssertionError("the stream ended")


async def test_listen_streams_past_the_principal_s_limit_get_429() -> None:
    app = limited_app(max_streams_per_principal=2)
    async with InProcess(app.asgi()) as driver:
        headers, body = listen_request()
        held = [await driver.request("POST", "/mcp", headers, body) for _ in range(2)]
        for response in held:
            assert response.status == 200
            assert (await first_event(response))["method"] == "notifications/subscriptions/acknowledged"
        over = await driver.request("POST", "/mcp", headers, body)
        assert over.status == 429
        error = json.loads(await over.body())["error"]
        assert error == {"code": -31429, "message": "Too many open streams: this principal has 2, the limit; "
                         "close one first", "data": {"per": "principal", "limit": 2}}
        # Under the limit again once a stream closes: its lease is dropped as it ends.
        held[0].close()
        for _ in range(100):
            again = await driver.request("POST", "/mcp", headers, body)
            if again.status == 200:
                break
            await asyncio.sleep(0.01)
        assert again.status == 200
        again.close()
        held[1].close()


async def test_get_and_listen_streams_share_the_principal_s_budget() -> None:
    app = limited_app(max_streams_per_principal=2)
    async with InProcess(app.asgi()) as driver:
        status, init_headers, _ = await initialize(driver)
        assert status == 200
        get_headers = [(b"host", b"localhost"), (b"accept", b"text/event-stream"),
                       (b"mcp-session-id", init_headers["mcp-session-id"].encode()),
                       (b"mcp-protocol-version", HANDSHAKE.encode())]
        standalone = await driver.request("GET", "/mcp", get_headers)
        assert standalone.status == 200
        headers, body = listen_request()
        listening = await driver.request("POST", "/mcp", headers, body)
        assert listening.status == 200
        over = await driver.request("POST", "/mcp", headers, body)
        assert over.status == 429 and json.loads(await over.body())["error"]["data"] == {"per": "principal", "limit": 2}
        standalone.close()
        listening.close()


# ----- a session's pending server-to-client requests -------------------------------------------


async def test_pending_client_requests_past_the_session_s_limit_get_429() -> None:
    app = limited_app(max_pending_client_requests=1)
    release = asyncio.Event()
    asked = asyncio.Event()

    async def answer(params: dict[str, Any]) -> dict[str, Any]:
        asked.set()
        await release.wait()  # the user takes their time
        return {"action": "accept", "content": {"ok": True}}

    async with Client(app, era="handshake", elicitation_handler=answer, timeout=10) as client:
        first = asyncio.ensure_future(client.call_tool("ask"))
        await asyncio.wait_for(asked.wait(), 15)
        with pytest.raises(ResponseError) as refused:
            await client.call_tool("ask")
        assert refused.value.status == 429 and refused.value.code == -31429
        assert refused.value.data == {"per": "session", "limit": 1}
        assert "awaiting replies" in refused.value.message
        release.set()
        assert (await first)["content"][0]["text"] == "accept"
        # The first request got its reply: its slot is free again.
        assert (await client.call_tool("ask"))["content"][0]["text"] == "accept"


async def test_pending_client_requests_within_the_limit_are_all_served() -> None:
    app = limited_app(max_pending_client_requests=3)
    waiting: list[asyncio.Event] = []
    release = asyncio.Event()

    async def answer(params: dict[str, Any]) -> dict[str, Any]:
        waiting.append(asyncio.Event())
        await release.wait()
        return {"action": "decline"}

    async with Client(app, era="handshake", elicitation_handler=answer, timeout=10) as client:
        calls = [asyncio.ensure_future(client.call_tool("ask")) for _ in range(3)]
        for _ in range(500):
            if len(waiting) == 3:
                break
            await asyncio.sleep(0.01)
        assert len(waiting) == 3  # three questions out at once
        release.set()
        results = await asyncio.gather(*calls)
    assert [r["content"][0]["text"] for r in results] == ["decline"] * 3
