"""Tasks and cancellation across replicas: two uvicorn replicas of tests/apps/tasks_app.py
on one real Redis, addressed directly (A and B), with marker files telling what happened
to the work and where.

- A task started on A is polled and cancelled through B: it settles ``cancelled``, its
  ``ctx.on_cancel`` callbacks ran on A, and its side effect never happened.
- A is killed (SIGKILL) mid-task: the task is ``failed`` once its lease lapses.
- Handshake era: ``notifications/cancelled`` sent to B stops the call on A, no JSON-RPC
  response goes out for it, its ``on_cancel`` ran, and A's audit record says cancelled.
- 2026-07-28: closing the response stream runs the call's ``on_cancel`` too.
"""

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from .conftest import RedisServer, Server

MODERN = "2026-07-28"
ACCEPT = "application/json, text/event-stream"
TASKS = {"extensions": {"io.modelcontextprotocol/tasks": {}}}


class Pair:
    def __init__(self, redis_url: str, markers: Path, lease: float) -> None:
        env = {"EDGEMCP_STORE": redis_url, "EDGEMCP_TEST_MARKERS": str(markers),
               "EDGEMCP_TASK_LEASE": str(lease)}
        self.a = Server("tests.apps.tasks_app:app", {**env, "REPLICA": "a"})
        self.b = Server("tests.apps.tasks_app:app", {**env, "REPLICA": "b"})

    def stop(self) -> None:
        for server in (self.a, self.b):
            server.stop()


@pytest.fixture(scope="module")
def markers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("markers")


@pytest.fixture(scope="module")
def pair(redis_server: RedisServer, markers: Path) -> Iterator[Pair]:
    running = Pair(redis_server.url, markers, lease=10)
    yield running
    running.stop()


def request(method: str, params: dict[str, Any], request_id: int = 1,
            capabilities: dict[str, Any] | None = None) -> tuple[dict[str, str], dict[str, Any]]:
    headers = {"accept": ACCEPT, "mcp-protocol-version": MODERN, "mcp-method": method}
    target = params.get("name", params.get("taskId"))
    if isinstance(target, str):
        headers["mcp-name"] = target
    meta = {"io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": TASKS if capabilities is None else capabilities}
    return headers, {"jsonrpc": "2.0", "id": request_id, "method": method, "params": {**params, "_meta": meta}}


async def rpc(client: httpx.AsyncClient, url: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
    headers, body = request(method, params)
    response = await client.post(url, headers=headers, json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["result"]
    return result


async def appears(path: Path, seconds: float = 15) -> str | None:
    """The marker's content (the replica that wrote it), once it exists."""
    for _ in range(int(seconds * 20)):
        if path.exists():  # noqa: ASYNC240 - a stat on a local tmp file, polled
            return path.read_text()  # noqa: ASYNC240
        await asyncio.sleep(0.05)
    return None


async def status_until(client: httpx.AsyncClient, url: str, task_id: str, seconds: float = 30) -> dict[str, Any]:
    for _ in range(int(seconds * 10)):
        task = await rpc(client, url, "tasks/get", {"taskId": task_id})
        if task["status"] != "working":
            return task
        await asyncio.sleep(0.1)
    raise AssertionError(f"task {task_id} is still working")


async def events(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    async for line in response.aiter_lines():
        if line.startswith("data: "):
            yield json.loads(line[6:])


async def test_a_task_started_on_a_is_polled_and_cancelled_through_b(
        pair: Pair, markers: Path, redis_server: RedisServer) -> None:
    a, b = pair.a.url, pair.b.url
    async with httpx.AsyncClient(timeout=15) as client:
        created = await rpc(client, a, "tools/call", {"name": "job", "arguments": {"label": "across", "seconds": 3}})
        assert created["resultType"] == "task"
        task_id = created["taskId"]
        assert await appears(markers / "across.started") == "a"  # the work runs where it was accepted
        polled = await rpc(client, b, "tasks/get", {"taskId": task_id})
        assert polled["status"] == "working"

        # Kept for ttlMs, then gone: the record's expiry in Redis is the task's time to live.
        ttl_ms = redis.Redis.from_url(redis_server.url).pttl(f"edgemcp:tasks-test:task:{task_id}")
        assert 0 < ttl_ms <= created["ttlMs"]

        ack = await rpc(client, b, "tasks/cancel", {"taskId": task_id})
        assert ack["resultType"] == "complete" and "status" not in ack
        assert (await rpc(client, b, "tasks/get", {"taskId": task_id}))["status"] == "cancelled"
        # The cancellation reached the work on A: its callbacks (async and plain) ran there.
        assert await appears(markers / "across.on_cancel") == "a"
        assert await appears(markers / "across.on_cancel_sync") == "a"
        await asyncio.sleep(3.5)  # past the moment the work would have done its side effect
        assert not (markers / "across.side_effect").exists()
        assert (await rpc(client, a, "tasks/get", {"taskId": task_id}))["status"] == "cancelled"


async def test_a_task_whose_replica_dies_fails_once_its_lease_lapses(
        redis_server: RedisServer, tmp_path: Path) -> None:
    pair = Pair(redis_server.url, tmp_path, lease=2)
    try:
        async with httpx.AsyncClient(timeout=15) as client:
            created = await rpc(client, pair.a.url, "tools/call",
                                {"name": "job", "arguments": {"label": "doomed", "seconds": 60}})
            assert await appears(tmp_path / "doomed.started") == "a"
            pair.a.process.kill()  # SIGKILL: no goodbye, no cleanup
            pair.a.process.wait()
            ended = await status_until(client, pair.b.url, created["taskId"])
        assert ended["status"] == "failed"
        assert ended["error"]["code"] == -32603
        assert ended["statusMessage"] == "The server running this task stopped before it finished"
    finally:
        pair.stop()


async def test_notifications_cancelled_on_b_stops_a_handshake_call_on_a(pair: Pair, markers: Path) -> None:
    a, b = pair.a.url, pair.b.url
    async with httpx.AsyncClient(timeout=15) as client:
        init = await client.post(a, headers={"accept": ACCEPT}, json={
            "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
        session = {"accept": ACCEPT, "mcp-session-id": init.headers["mcp-session-id"],
                   "mcp-protocol-version": "2025-11-25"}
        call = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
            "name": "hold", "arguments": {"label": "handshake"}, "_meta": {"progressToken": "p7"}}}
        async with client.stream("POST", a, headers=session, json=call) as response:
            stream = events(response)
            assert (await anext(stream))["method"] == "notifications/progress"
            cancel = await client.post(b, headers=session, json={
                "jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 7}})
            assert cancel.status_code == 202
            rest = [message async for message in stream]  # the stream ends
        assert [m for m in rest if "id" in m] == []  # and no response to request 7 came
    assert await appears(markers / "handshake.on_cancel") == "a"
    assert not (markers / "handshake.side_effect").exists()
    for _ in range(100):  # A's audit record (JSON lines on its stdout) says cancelled
        records = [json.loads(line) for line in pair.a.read_output().splitlines() if line.startswith("{")]
        mine = [r for r in records if r.get("request_id") == 7 and r.get("tool") == "hold"]
        if mine:
            break
        await asyncio.sleep(0.05)
    assert [(r["outcome"], r["error"]) for r in mine] == [("cancelled", "cancelled")]


async def test_closing_the_stream_runs_on_cancel_in_the_modern_era(pair: Pair, markers: Path) -> None:
    headers, body = request("tools/call", {"name": "hold", "arguments": {"label": "modern"}}, capabilities={})
    body["params"]["_meta"]["progressToken"] = "m1"
    async with httpx.AsyncClient(timeout=15) as client, client.stream(
            "POST", pair.a.url, headers=headers, json=body) as response:
        assert (await anext(events(response)))["method"] == "notifications/progress"
    assert await appears(markers / "modern.on_cancel") == "a"
    assert not (markers / "modern.side_effect").exists()
