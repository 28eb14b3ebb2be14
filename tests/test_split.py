"""One app split by placement (examples/split.py), with the official Python SDK client.

Two real uvicorn servers run the same module: the core (``EDGEMCP_ROLE=core``, its own
store, no client tokens of its own) and the edge (``EDGEMCP_ROLE=edge``, bearer tokens,
``EDGEMCP_CORE_URL`` pointing at the core). The client talks only to the edge, in both
eras; core tools run on the core, whose audit log names the edge's principal.
"""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import httpx2
import itsdangerous.timed
import mcp.types as types
import pytest
from mcp import Client, ClientSession
from mcp.client.streamable_http import streamable_http_client

from edgemcp import Principal
from edgemcp.guards.hop import ASSERTION_HEADER, HopSigner, core_audience

from .conftest import TEST_SECRET, JSONHandler, Server, serve_http

MODERN = "2026-07-28"
TOKEN = "alice-token"
AUTH = {"authorization": f"Bearer {TOKEN}"}
AUDIENCE = core_audience("split-bank")

pytestmark = pytest.mark.filterwarnings("ignore:The logging capability is deprecated")


class Deployment:
    def __init__(self) -> None:
        self.core = Server("examples.split:app", {"EDGEMCP_ROLE": "core"})
        self.edge = Server("examples.split:app", {
            "EDGEMCP_ROLE": "edge", "EDGEMCP_CORE_URL": self.core.url, "EDGEMCP_TOKENS": f"alice:{TOKEN}"})

    def core_audit(self) -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in self.core.read_output().splitlines() if line.startswith("{")]
        return [line for line in lines if line.get("event") == "tools/call"]

    def stop(self) -> None:
        self.edge.stop()
        self.core.stop()


@pytest.fixture(scope="module")
def split() -> Iterator[Deployment]:
    deployment = Deployment()
    yield deployment
    deployment.stop()


async def confirm(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
    assert params.requested_schema["properties"] == {"confirm": {"type": "boolean", "description": "Go ahead"}}
    return types.ElicitResult(action="accept", content={"confirm": True})


@asynccontextmanager
async def handshake(url: str) -> AsyncIterator[ClientSession]:
    async with (
        httpx2.AsyncClient(headers=AUTH, timeout=httpx2.Timeout(30.0, read=60.0)) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write, elicitation_callback=confirm) as session,
    ):
        await session.initialize()
        yield session


@asynccontextmanager
async def modern(url: str) -> AsyncIterator[Client]:
    async with httpx2.AsyncClient(headers=AUTH, timeout=httpx2.Timeout(30.0, read=60.0)) as http:
        transport = streamable_http_client(url, http_client=http)
        async with Client(transport, mode="auto", elicitation_callback=confirm) as client:
            assert client.protocol_version == MODERN
            yield client


def text(result: types.CallToolResult) -> str:
    assert not result.is_error, result
    return "".join(block.text for block in result.content if isinstance(block, types.TextContent))


@pytest.mark.parametrize("era", ["handshake", "modern"])
async def test_every_tool_works_at_the_edge_and_core_tools_run_on_the_core(split: Deployment, era: str) -> None:
    before = len(split.core_audit())
    account = "NL91ABNA0417164300" if era == "modern" else "DE89370400440532013000"
    opened = handshake(split.edge.url) if era == "handshake" else modern(split.edge.url)
    async with opened as client:
        listed = {tool.name for tool in (await client.list_tools()).tools}
        assert listed == {"forecast", "balance", "transfer"}
        assert "Lisbon" in text(await client.call_tool("forecast", {"city": "Lisbon"}))
        assert account in text(await client.call_tool("balance", {"account": account}))
        moved = text(await client.call_tool("transfer", {"account": account, "amount": 12.5}))
        assert moved == f"Transferred 12.50 EUR from account {account}."
    # The core ran balance and transfer (not forecast), for the principal the edge asserted.
    ran = split.core_audit()[before:]
    assert [r["tool"] for r in ran if r["outcome"] == "success"] == ["balance", "transfer"]
    assert {r["agent_id"] for r in ran} == {"alice"}
    assert all(r["era"] == "modern" for r in ran)  # the hop speaks 2026-07-28 whatever the client speaks


async def test_the_core_takes_the_edges_correlation_id(split: Deployment) -> None:
    async with modern(split.edge.url) as client:
        result = await client.call_tool("balance", {"account": "GB29NWBK60161331926819"})
    correlation = (result.meta or {}).get("dev.edgemcp/correlationId")
    assert correlation and correlation in {r["correlation_id"] for r in split.core_audit()}


def post(url: str, method: str, params: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
    body = {"jsonrpc": "2.0", "id": 1, "method": method,
            "params": {**params, "_meta": {"io.modelcontextprotocol/protocolVersion": MODERN,
                                            "io.modelcontextprotocol/clientCapabilities": {}}}}
    named = {"mcp-name": params["name"]} if "name" in params else {}
    return httpx.post(url, json=body, timeout=10, headers={
        "accept": "application/json, text/event-stream", "mcp-protocol-version": MODERN,
        "mcp-method": method, **named, **headers})


def test_the_core_refuses_forged_expired_and_foreign_assertions(split: Deployment,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    call = ("tools/call", {"name": "balance", "arguments": {"account": "FR1420041010050500013M02606"}})
    genuine = HopSigner(TEST_SECRET, AUDIENCE).sign(
        Principal(agent_id="alice", subject="alice"))
    assert post(split.core.url, *call, {ASSERTION_HEADER: genuine}).status_code == 200
    tampered = genuine[:-2] + ("AA" if not genuine.endswith("AA") else "BB")
    foreign = HopSigner(TEST_SECRET, core_audience("another-app")).sign(
        Principal(agent_id="alice"))
    other_key = HopSigner("not-the-shared-secret", AUDIENCE).sign(Principal(agent_id="alice"))
    # Signed an hour ago: the signature holds, the assertion is stale.
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 3600)
    expired = HopSigner(TEST_SECRET, AUDIENCE).sign(Principal(agent_id="alice"))
    monkeypatch.undo()
    for assertion, why in [(tampered, "failed verification"), (other_key, "failed verification"),
                           (foreign, "another deployment"), (expired, "expired")]:
        refused = post(split.core.url, *call, {ASSERTION_HEADER: assertion})
        assert refused.status_code == 401, why
        assert why in refused.json()["error"]["message"]
        assert refused.headers["www-authenticate"].startswith("EdgeMCP-Assertion")


def test_the_clients_token_never_reaches_the_core(split: Deployment) -> None:
    response = post(split.edge.url, "tools/call", {"name": "balance", "arguments": {"account": "BE68539007547034"}},
                    AUTH)
    assert response.status_code == 200, response.text
    assert TOKEN not in split.core.read_output()


def test_an_edge_asserting_is_refused_by_a_plain_app(split: Deployment) -> None:
    # The edge role itself never takes assertions from clients: a client cannot claim to be anyone.
    forged = HopSigner(TEST_SECRET, AUDIENCE).sign(Principal(agent_id="mallory"))
    response = post(split.edge.url, "tools/call", {"name": "balance", "arguments": {"account": "BE68539007547034"}},
                    {ASSERTION_HEADER: forged})
    assert response.status_code == 401  # the edge wants its own credentials


def test_with_the_core_down_edge_tools_work_and_core_tools_fail_fast() -> None:
    deployment = Deployment()
    try:
        deployment.core.stop()
        started = time.monotonic()
        down = post(deployment.edge.url, "tools/call", {"name": "balance", "arguments": {"account": "ES9121000418450200051332"}},
                    AUTH)
        assert time.monotonic() - started < 5
        assert down.status_code == 503 and down.headers["retry-after"]
        assert "Upstream 'core'" in down.json()["error"]["message"]
        # Marked down: the next call fails at once, without trying again.
        started = time.monotonic()
        again = post(deployment.edge.url, "tools/call", {"name": "balance", "arguments": {"account": "ES9121000418450200051332"}},
                     AUTH)
        assert again.status_code == 503 and time.monotonic() - started < 1
        assert "marked down" in again.json()["error"]["message"]
        edge = post(deployment.edge.url, "tools/call", {"name": "forecast", "arguments": {"city": "Oslo"}}, AUTH)
        assert edge.status_code == 200 and "Oslo" in edge.json()["result"]["content"][0]["text"]
    finally:
        deployment.edge.stop()


def test_an_edge_whose_core_is_itself_is_refused_as_a_loop() -> None:
    edge = Server("examples.split:app", {"EDGEMCP_ROLE": "edge", "EDGEMCP_CORE_URL": "http://127.0.0.1:{port}/mcp"})
    try:
        response = post(edge.url, "tools/call", {"name": "balance", "arguments": {"account": "IT60X0542811101000000123456"}},
                        {})
        # The edge's second pass refused the loop (508); the first reports it as a bad gateway.
        assert response.status_code == 502
        assert "Loop detected" in response.json()["error"]["message"]
    finally:
        edge.stop()


# ----- what the hop does with a core that misbehaves (stand-in cores, an in-process edge) ----


class HTMLCore(JSONHandler):
    def do_POST(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html><body>Welcome to nginx!</body></html>")


class GarbageCore(JSONHandler):
    def do_POST(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"jsonrpc": "2.0", "id": 1, "resu')


class TruncatedCore(JSONHandler):
    def do_POST(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        note = {"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "x"}}
        self.wfile.write(b"event: message\ndata: " + json.dumps(note).encode() + b"\n\n")
        self.wfile.flush()  # and the stream ends: no response ever comes


class SilentCore(JSONHandler):
    def do_POST(self) -> None:
        time.sleep(20)


def in_process_edge(core_url: str) -> httpx.AsyncClient:
    from edgemcp import EdgeMCP

    app = EdgeMCP("hop-test", secret=TEST_SECRET, role="edge", core_url=core_url, audit=False)
    app.settings.core_timeout = 1.0

    @app.tool(placement="core")
    def ledger(account: str) -> str:
        return account

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app.asgi()), base_url="http://localhost")


def final_message(response: httpx.Response) -> dict[str, Any]:
    """The JSON-RPC response: the body, or the last event of a stream."""
    if response.headers["content-type"].startswith("text/event-stream"):
        events = [line[5:].strip() for line in response.text.splitlines() if line.startswith("data:")]
        return dict(json.loads(events[-1]))
    return dict(response.json())


# A relayed notification had already started the stream (200) when the core's stream broke:
# the error is then the stream's last event.
@pytest.mark.parametrize(("core", "status", "why"), [
    (HTMLCore, 502, "HTTP 200 text/html, not MCP"),
    (GarbageCore, 502, "answered something unusable"),
    (TruncatedCore, 200, "event stream ended before the response"),
    (SilentCore, 504, "did not answer within 1 s"),
])
async def test_a_misbehaving_core_is_a_clear_error_never_a_500(core: type[JSONHandler], status: int,
                                                                 why: str) -> None:
    stand_in = serve_http(core)
    try:
        async with in_process_edge(f"http://127.0.0.1:{stand_in.server_address[1]}/mcp") as edge:
            started = time.monotonic()
            response = await edge.post("/mcp", json={
                "jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": "ledger", "arguments": {"account": "x"},
                           "_meta": {"io.modelcontextprotocol/protocolVersion": MODERN,
                                     "io.modelcontextprotocol/clientCapabilities": {}}}},
                headers={"accept": "application/json, text/event-stream", "mcp-protocol-version": MODERN,
                         "mcp-method": "tools/call", "mcp-name": "ledger"})
            assert time.monotonic() - started < 5
        assert response.status_code == status, response.text
        error = final_message(response)["error"]
        assert error["message"].startswith("Upstream 'core'") and why in error["message"]
        assert error["data"] == {"upstream": "core"}
    finally:
        stand_in.shutdown()


# ----- cancellation reaches the core ------------------------------------------------------


@pytest.fixture(scope="module")
def slow_split(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server, Any]]:
    markers = tmp_path_factory.mktemp("markers")
    core = Server("tests.apps.split_slow:app", {"EDGEMCP_ROLE": "core", "EDGEMCP_TEST_MARKERS": str(markers)})
    edge = Server("tests.apps.split_slow:app", {"EDGEMCP_ROLE": "edge", "EDGEMCP_CORE_URL": core.url,
                                                "EDGEMCP_TEST_MARKERS": str(markers)})
    yield edge, core, markers
    edge.stop()
    core.stop()


async def appears(path: Any, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists():
            return True
        await asyncio.sleep(0.05)
    return False


async def test_a_client_dropping_its_stream_at_the_edge_stops_the_work_on_the_core(
        slow_split: tuple[Server, Server, Any]) -> None:
    edge, _, markers = slow_split
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "slow", "arguments": {"label": "modern-drop"},
        "_meta": {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {},
                  "progressToken": "p1"}}}
    headers = {"accept": "application/json, text/event-stream", "mcp-protocol-version": MODERN,
               "mcp-method": "tools/call", "mcp-name": "slow"}
    async with httpx.AsyncClient(timeout=30) as client, client.stream("POST", edge.url, json=body,
                                                                       headers=headers) as response:
        async for line in response.aiter_lines():
            if line.startswith("data:") and "notifications/progress" in line:
                break  # the core's progress reached us through the edge: now walk away
    assert await appears(markers / "modern-drop.cancelled")
    assert (markers / "modern-drop.cancelled").read_text() == "core"
    assert not (markers / "modern-drop.finished").exists()


async def test_notifications_cancelled_at_the_edge_stops_the_work_on_the_core(
        slow_split: tuple[Server, Server, Any]) -> None:
    edge, _, markers = slow_split
    async with httpx.AsyncClient(timeout=30) as client:
        init = await client.post(edge.url, headers={"accept": "application/json, text/event-stream"}, json={
            "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
        session = {"accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25",
                   "mcp-session-id": init.headers["mcp-session-id"]}
        call = {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                "params": {"name": "slow", "arguments": {"label": "handshake-cancel"}, "_meta": {"progressToken": 1}}}
        async with client.stream("POST", edge.url, json=call, headers=session) as response:
            async for line in response.aiter_lines():
                if "notifications/progress" in line:
                    break
            cancelled = await client.post(edge.url, headers=session, json={
                "jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 7}})
            assert cancelled.status_code == 202
            assert await appears(markers / "handshake-cancel.cancelled")
    assert (markers / "handshake-cancel.cancelled").read_text() == "core"
