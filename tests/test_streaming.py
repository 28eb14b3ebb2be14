"""Streaming behaviour against a real uvicorn: when a response becomes SSE, cancellation in
both eras, server-to-client requests and their deadline, and subscriptions/listen."""

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import Server

MODERN = "2026-07-28"
ACCEPT = "application/json, text/event-stream"


@pytest.fixture(scope="module")
def markers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("markers")


@pytest.fixture(scope="module")
def server(markers: Path) -> Iterator[Server]:
    running = Server("tests.apps.streaming:app",
                     env={"EDGEMCP_TEST_MARKERS": str(markers), "EDGEMCP_REPLY_TIMEOUT": "1.5"})
    yield running
    running.stop()


def modern_request(method: str, params: dict[str, Any], request_id: Any = 1,
                   log_level: str | None = None, progress_token: str | None = None,
                   ) -> tuple[dict[str, str], dict[str, Any]]:
    meta: dict[str, Any] = {"io.modelcontextprotocol/protocolVersion": MODERN,
                            "io.modelcontextprotocol/clientCapabilities": {}}
    if progress_token:
        meta["progressToken"] = progress_token
    if log_level:
        meta["io.modelcontextprotocol/logLevel"] = log_level
    headers = {"accept": ACCEPT, "mcp-protocol-version": MODERN, "mcp-method": method}
    if "name" in params:
        headers["mcp-name"] = params["name"]
    return headers, {"jsonrpc": "2.0", "id": request_id, "method": method, "params": {"_meta": meta, **params}}


async def events(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    async for line in response.aiter_lines():
        if line.startswith("data: "):
            yield json.loads(line[6:])


async def wait_for(path: Path, seconds: float = 10) -> bool:
    for _ in range(int(seconds * 20)):
        if path.exists():  # noqa: ASYNC240 - a stat on a local tmp file, polled
            return True
        await asyncio.sleep(0.05)
    return False


async def initialize(client: httpx.AsyncClient, url: str, capabilities: dict[str, Any]) -> dict[str, str]:
    response = await client.post(url, headers={"accept": ACCEPT}, json={
        "jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": capabilities,
                   "clientInfo": {"name": "streaming-test", "version": "1"}}})
    return {"accept": ACCEPT, "mcp-session-id": response.headers["mcp-session-id"],
            "mcp-protocol-version": "2025-11-25"}


async def test_logs_stream_only_when_the_client_asks(server: Server) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        headers, body = modern_request("tools/call", {"name": "chatty"}, log_level="info")
        async with client.stream("POST", server.url, headers=headers, json=body) as response:
            assert response.headers["content-type"] == "text/event-stream"
            assert response.headers["x-accel-buffering"] == "no"
            seen = [message async for message in events(response)]
        assert [m["params"]["data"] for m in seen[:-1]] == ["info line", "error line"]
        assert seen[-1]["result"]["content"][0]["text"] == "done"

        headers, body = modern_request("tools/call", {"name": "chatty"})
        quiet = await client.post(server.url, headers=headers, json=body)
        assert quiet.headers["content-type"] == "application/json"
        assert quiet.json()["result"]["content"][0]["text"] == "done"


async def test_closing_the_stream_cancels_in_modern_era(server: Server, markers: Path) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        headers, body = modern_request("tools/call", {"name": "slow", "arguments": {"label": "modern"}},
                                       progress_token="t1")
        async with client.stream("POST", server.url, headers=headers, json=body) as response:
            first = await anext(events(response))
            assert first["method"] == "notifications/progress"
    assert await wait_for(markers / "modern.cancelled")
    assert not (markers / "modern.finished").exists()


async def test_notifications_cancelled_stops_a_handshake_call(server: Server, markers: Path) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        session = await initialize(client, server.url, {})
        body = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
            "name": "slow", "arguments": {"label": "handshake"}, "_meta": {"progressToken": "p"}}}
        async with client.stream("POST", server.url, headers=session, json=body) as response:
            stream = events(response)
            first = await anext(stream)
            assert first["params"]["progressToken"] == "p"
            cancel = await client.post(server.url, headers=session, json={
                "jsonrpc": "2.0", "method": "notifications/cancelled",
                "params": {"requestId": 7, "reason": "user pressed stop"}})
            assert cancel.status_code == 202
            rest = [message async for message in stream]
        assert [m for m in rest if "id" in m] == []  # no response to the cancelled request
    assert await wait_for(markers / "handshake.cancelled")


async def test_elicitation_reply_and_deadline_in_handshake_era(server: Server) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        session = await initialize(client, server.url, {"elicitation": {}})
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "ask_name"}}
        async with client.stream("POST", server.url, headers=session, json=body) as response:
            stream = events(response)
            request = await anext(stream)
            assert request["method"] == "elicitation/create"
            reply = await client.post(server.url, headers=session, json={
                "jsonrpc": "2.0", "id": request["id"],
                "result": {"action": "accept", "content": {"name": "Grace"}}})
            assert reply.status_code == 202
            final = [message async for message in stream][-1]
        assert final["result"]["content"][0]["text"] == "hello Grace"

        # Unanswered: the wait ends at the deadline and the tool handles the timeout.
        async with client.stream("POST", server.url, headers=session, json={**body, "id": 2}) as response:
            messages = [message async for message in events(response)]
        assert messages[0]["method"] == "elicitation/create"
        assert messages[-1]["result"]["content"][0]["text"] == "no answer in time"


async def test_reply_with_a_forged_session_is_refused(server: Server) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(server.url, headers={"accept": ACCEPT, "mcp-session-id": "forged.sig"},
                                     json={"jsonrpc": "2.0", "id": "edgemcp-x", "result": {}})
        assert response.status_code == 404


async def test_listen_acknowledges_first_then_tags_notifications(server: Server) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        headers, body = modern_request("subscriptions/listen", {"notifications": {
            "toolsListChanged": True, "promptsListChanged": False, "resourceSubscriptions": ["memo://1"],
            "somethingUnknown": True}}, request_id="listen-1")
        async with client.stream("POST", server.url, headers=headers, json=body) as response:
            stream = events(response)
            ack = await anext(stream)
            assert ack["method"] == "notifications/subscriptions/acknowledged"
            assert ack["params"]["_meta"] == {"io.modelcontextprotocol/subscriptionId": "listen-1"}
            assert ack["params"]["notifications"] == {"toolsListChanged": True,
                                                      "resourceSubscriptions": ["memo://1"]}
            headers2, call = modern_request("tools/call", {"name": "change_tools"}, request_id=9)
            assert (await client.post(server.url, headers=headers2, json=call)).status_code == 200
            changed = await anext(stream)
            updated = await anext(stream)
        assert changed["method"] == "notifications/tools/list_changed"
        assert changed["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == "listen-1"
        assert updated == {"jsonrpc": "2.0", "method": "notifications/resources/updated",
                           "params": {"uri": "memo://1",
                                      "_meta": {"io.modelcontextprotocol/subscriptionId": "listen-1"}}}
