"""Streams across replicas: two uvicorn replicas of tests/apps/streams.py on one real
Redis, the official Python SDK client split across them (every POST to one, every GET to
the other), and the official conformance suite's SSE polling scenario against two
replicas of the conformance example behind the round-robin balancer."""

import asyncio
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import mcp.types as types
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from .conformance_suite import HERE, NODE
from .conftest import RedisServer, Replicas
from .test_streams import Event, call, initialize, method_of, opened

# The handshake era's logging/setLevel is deprecated in the SDK, but it is how that era works.
pytestmark = pytest.mark.filterwarnings("ignore:The logging capability is deprecated")


@pytest.fixture(scope="module")
def pair(redis_server: RedisServer) -> Iterator[list[str]]:
    """The two replicas' own URLs (the tests choose which one each request goes to)."""
    running = Replicas(redis_server.url, "tests.apps.streams:app")
    yield [replica.url for replica in running.replicas]
    running.stop()


async def test_changes_on_one_replica_reach_a_stream_on_the_other_and_resume_there(pair: list[str]) -> None:
    first, second = pair
    async with httpx.AsyncClient(timeout=15) as client:
        session = await initialize(client, first)
        async with opened(client, "GET", first, session) as stream:
            await stream.next()  # priming: the stream is open
            await call(client, second, session, "change", kind="tools")
            seen = await stream.message()
            assert method_of(seen) == "notifications/tools/list_changed"
        # The client dropped its stream; changes go on, on both replicas.
        for url, kind in ((first, "prompts"), (second, "resources"), (first, "tools")):
            await call(client, url, session, "change", kind=kind)
        async with opened(client, "GET", second, {**session, "last-event-id": str(seen.id)}) as resumed:
            missed: list[Event] = [await resumed.message() for _ in range(3)]
            await call(client, first, session, "change", kind="prompts")
            live = await resumed.message()
    assert [method_of(e) for e in missed] == [f"notifications/{kind}/list_changed"
                                             for kind in ("prompts", "resources", "tools")]
    assert method_of(live) == "notifications/prompts/list_changed"  # the next one, not a repeat
    ids = [seen.id, *(e.id for e in missed), live.id]
    assert len(set(ids)) == len(ids)


class ByMethod(httpx2.AsyncBaseTransport):
    """Sends every POST and DELETE to one replica and every GET to the other, and notes
    each GET's Last-Event-ID."""

    def __init__(self, posts: str, gets: str) -> None:
        self.posts, self.gets = httpx2.URL(posts), httpx2.URL(gets)
        self.inner = httpx2.AsyncHTTPTransport()
        self.resumed_from: list[str] = []
        self.stream_opened = asyncio.Event()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        target = self.gets if request.method == "GET" else self.posts
        request.url = request.url.copy_with(host=target.host, port=target.port)
        last_event_id = request.headers.get("last-event-id")
        if last_event_id:
            self.resumed_from.append(last_event_id)
        response = await self.inner.handle_async_request(request)
        if request.method == "GET" and not last_event_id and response.status_code == 200:
            self.stream_opened.set()
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_the_python_sdk_resumes_on_the_other_replica(pair: list[str]) -> None:
    posts, gets = pair
    transport = ByMethod(posts, gets)
    logged: list[Any] = []
    tools_changed = asyncio.Event()

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        logged.append(params.data)

    async def on_message(message: Any) -> None:
        if getattr(message, "method", None) == "notifications/tools/list_changed":
            tools_changed.set()

    async with (
        httpx2.AsyncClient(transport=transport, timeout=httpx2.Timeout(30.0, read=300.0)) as http,
        streamable_http_client(posts, http_client=http) as (read, write),
        ClientSession(read, write, read_timeout_seconds=30, logging_callback=on_log,
                      message_handler=on_message) as session,
    ):
        await session.initialize()
        await session.set_logging_level("info")
        # The server lets go of this call's POST at once; the SDK resumes it by GET, on the
        # other replica, from the priming event's id.
        result = await session.call_tool("steps", {"count": 3})
        assert [c.text for c in result.content if isinstance(c, types.TextContent)] == ["3 steps"]
        assert logged == ["step 1", "step 2", "step 3"]
        assert transport.resumed_from and transport.resumed_from[0].startswith("r")
        # The SDK's own GET stream (on the other replica) hears a change made by a call here.
        await asyncio.wait_for(transport.stream_opened.wait(), 15)
        await session.call_tool("change", {"kind": "tools"})
        await asyncio.wait_for(tools_changed.wait(), 15)


@pytest.mark.skipif(not NODE.exists(), reason="conformance tooling not installed: run scripts/setup")
def test_conformance_sse_polling_against_two_replicas(replicas: Replicas, tmp_path: Path) -> None:
    """The stable suite's unscored ``server-sse-polling``: a priming event with a retry
    hint, the stream closed mid-call (``test_reconnection``), and the result delivered to a
    GET with Last-Event-ID, with the balancer sending the GET to the other replica."""
    results = tmp_path / "results"
    command = [str(NODE), str(HERE / "node_modules" / "conformance-stable" / "dist" / "index.js"), "server",
               "--url", replicas.url, "--scenario", "server-sse-polling", "-o", str(results)]
    run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert re.search(r"^Passed: (\d+)/\1, 0 failed, 0 warnings$", run.stdout, re.MULTILINE), run.stdout[-4000:]
    checks = json.loads(next(results.rglob("checks.json")).read_text())
    status = {check["id"]: check["status"] for check in checks}
    assert status["server-sse-priming-event"] == "SUCCESS"
    assert status["server-sse-retry-field"] == "SUCCESS"
    assert status["server-sse-disconnect-resume"] == "SUCCESS", run.stdout[-4000:]
