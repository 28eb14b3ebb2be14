"""Handshake-era streams against a real uvicorn (tests/apps/streams.py): the GET stream
and what reaches it, event ids and Last-Event-ID, POST responses the server lets go of
(SSE polling) or the client lost, takeover, limits, and every refusal. Cross-replica
behaviour is in test_streams_replicas.py; the logs and leases themselves are in
test_stream_state.py."""

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from edgemcp import Context, EdgeMCP
from edgemcp.store.kv import WorkersKVStore

from .conftest import Server
from .fakes.cloudflare import FakeKVNamespace

ACCEPT = "application/json, text/event-stream"
VERSION = "2025-11-25"


# ----- helpers (also used by test_streams_replicas.py) --------------------------------------


@dataclass
class Event:
    id: str | None
    data: Any  # the JSON message; None for an event without data (priming, retry only)
    retry: int | None


class EventStream:
    """The SSE events of a streaming response, read in the background so a test can act
    while the stream stays open. ``next()`` returns None once the stream has ended."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self.task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        fields: dict[str, str] = {}
        try:
            async for line in self.response.aiter_lines():
                if line == "":
                    if fields:
                        data = fields.get("data")
                        retry = fields.get("retry")
                        self.queue.put_nowait(Event(fields.get("id"), json.loads(data) if data else None,
                                                    int(retry) if retry is not None else None))
                    fields = {}
                elif not line.startswith(":"):
                    name, _, value = line.partition(":")
                    fields[name] = value.removeprefix(" ")
        except httpx.HTTPError:
            pass
        finally:
            self.queue.put_nowait(None)

    async def next(self) -> Event | None:
        return await asyncio.wait_for(self.queue.get(), 15)

    async def message(self) -> Event:
        """The next event that carries a message (skipping priming and retry-only events)."""
        while True:
            found = await self.next()
            assert found is not None, "the stream ended"
            if found.data is not None:
                return found

    async def aclose(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


@asynccontextmanager
async def opened(client: httpx.AsyncClient, method: str, url: str, headers: dict[str, str],
                 body: Any = None) -> AsyncIterator[EventStream]:
    async with client.stream(method, url, headers=headers, json=body) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"] == "text/event-stream"
        events = EventStream(response)
        try:
            yield events
        finally:
            await events.aclose()


async def initialize(client: httpx.AsyncClient, url: str) -> dict[str, str]:
    response = await client.post(url, headers={"accept": ACCEPT}, json={
        "jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name": "streams", "version": "1"}}})
    assert response.status_code == 200
    return {"accept": ACCEPT, "mcp-session-id": response.headers["mcp-session-id"], "mcp-protocol-version": VERSION}


async def request(client: httpx.AsyncClient, url: str, session: dict[str, str], method: str,
                  params: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(url, headers=session, json={"jsonrpc": "2.0", "id": 1, "method": method,
                                                             "params": params})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def call(client: httpx.AsyncClient, url: str, session: dict[str, str], tool: str, **arguments: Any) -> str:
    answer = await request(client, url, session, "tools/call", {"name": tool, "arguments": arguments})
    text: str = answer["result"]["content"][0]["text"]
    return text


def method_of(event: Event) -> str:
    return str(event.data["method"])


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert body["jsonrpc"] == "2.0" and "Traceback" not in response.text
    error: dict[str, Any] = body["error"]
    return error


async def get(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> httpx.Response:
    """A GET that is expected to be refused; were it answered with a stream, the stream
    would never end: then only its head is read, and the test's assertions fail on it."""
    async with client.stream("GET", url, headers=headers) as response:
        if response.headers.get("content-type") != "text/event-stream":
            await response.aread()
        return response


# ----- servers ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def markers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stream-markers")


@pytest.fixture(scope="module")
def server(markers: Path) -> Iterator[Server]:
    running = Server("tests.apps.streams:app", env={"EDGEMCP_TEST_MARKERS": str(markers)})
    yield running
    running.stop()


@pytest.fixture(scope="module")
def limited() -> Iterator[Server]:
    running = Server("tests.apps.streams:app", env={"EDGEMCP_TEST_PER_SESSION": "1",
                                                    "EDGEMCP_TEST_PER_PRINCIPAL": "2"})
    yield running
    running.stop()


# ----- the standalone stream ------------------------------------------------------------------


async def test_standalone_stream_carries_changes_updates_and_messages(server: Server) -> None:
    url = server.url
    async with httpx.AsyncClient(timeout=15) as client:
        session = await initialize(client, url)
        assert await call(client, url, session, "tell", text="too early") == "not sent"  # no stream yet
        await request(client, url, session, "resources/subscribe", {"uri": "memo://1"})
        await request(client, url, session, "logging/setLevel", {"level": "info"})
        async with opened(client, "GET", url, session) as stream:
            priming = await stream.next()
            assert priming is not None and priming.id and priming.data is None and priming.retry == 100

            await call(client, url, session, "change", kind="tools")
            changed = await stream.message()
            assert method_of(changed) == "notifications/tools/list_changed"

            await call(client, url, session, "touch", uri="memo://2")  # not subscribed: not sent
            await call(client, url, session, "touch", uri="memo://1")
            updated = await stream.message()
            assert updated.data["params"] == {"uri": "memo://1"}

            assert await call(client, url, session, "tell", text="hello") == "sent"
            told = await stream.message()
            assert told.data["params"] == {"level": "info", "data": "hello"}

            await request(client, url, session, "resources/unsubscribe", {"uri": "memo://1"})
            await call(client, url, session, "touch", uri="memo://1")
            await call(client, url, session, "change", kind="prompts")
            assert method_of(await stream.message()) == "notifications/prompts/list_changed"
            ids = [e.id for e in (priming, changed, updated, told)]
            assert len(set(ids)) == len(ids)


async def test_a_new_get_takes_the_stream_over(server: Server) -> None:
    url = server.url
    async with httpx.AsyncClient(timeout=15) as client:
        session = await initialize(client, url)
        async with opened(client, "GET", url, session) as first:
            await first.next()
            async with opened(client, "GET", url, session) as second:
                await second.next()
                await call(client, url, session, "change", kind="tools")
                assert method_of(await second.message()) == "notifications/tools/list_changed"
                # The older connection ended without it: no message goes out on two streams.
                assert await first.next() is None


# ----- request streams: SSE polling and lost connections ----------------------------------------


async def test_a_call_the_server_lets_go_of_is_resumed_by_get(server: Server) -> None:
    url = server.url
    async with httpx.AsyncClient(timeout=15) as client:
        session = await initialize(client, url)
        await request(client, url, session, "logging/setLevel", {"level": "info"})
        body = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "steps", "arguments": {"count": 3}}}
        async with opened(client, "POST", url, session, body) as post:
            priming = await post.next()
            assert priming is not None and priming.id and priming.data is None and priming.retry == 100
            assert await post.next() is None  # let go before the response
        async with opened(client, "GET", url, {**session, "last-event-id": priming.id}) as resumed:
            got = [await resumed.message() for _ in range(4)]
            assert await resumed.next() is None  # ended after the response
        assert [e.data.get("params", {}).get("data") for e in got[:3]] == ["step 1", "step 2", "step 3"]
        assert got[3].data["id"] == 7 and got[3].data["result"]["content"][0]["text"] == "3 steps"
        assert len({priming.id, *(e.id for e in got)}) == 5
        # Nothing left after the response: 204, not an empty stream the client would poll again.
        done = await get(client, url, {**session, "last-event-id": str(got[3].id)})
        assert done.status_code == 204
        # From the middle, the rest again, in order.
        async with opened(client, "GET", url, {**session, "last-event-id": str(got[1].id)}) as again:
            rest = [await again.message() for _ in range(2)]
        assert [e.id for e in rest] == [got[2].id, got[3].id]


async def test_a_lost_post_stream_resumes_where_it_broke(server: Server, markers: Path) -> None:
    url = server.url
    async with httpx.AsyncClient(timeout=15) as client:
        session = await initialize(client, url)
        await request(client, url, session, "logging/setLevel", {"level": "info"})
        body = {"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": {"name": "until", "arguments": {"label": "go"}}}
        async with opened(client, "POST", url, session, body) as post:
            waiting = await post.message()
            assert waiting.data["params"]["data"] == "waiting"
        # The client dropped the connection; the call goes on (disconnect is not cancellation).
        (markers / "go").write_text("go")
        async with opened(client, "GET", url, {**session, "last-event-id": str(waiting.id)}) as resumed:
            released = await resumed.message()
            final = await resumed.message()
        assert released.data["params"]["data"] == "released"
        assert final.data["id"] == 8 and final.data["result"]["content"][0]["text"] == "go released"


async def test_a_cancelled_call_s_stream_ends_without_a_response_when_resumed(server: Server) -> None:
    url = server.url
    async with httpx.AsyncClient(timeout=15) as client:
        session = await initialize(client, url)
        await request(client, url, session, "logging/setLevel", {"level": "info"})
        body = {"jsonrpc": "2.0", "id": 11, "method": "tools/call",
                "params": {"name": "until", "arguments": {"label": "never"}}}
        async with opened(client, "POST", url, session, body) as post:
            priming = await post.next()
            waiting = await post.message()
            cancelled = await client.post(url, headers=session, json={
                "jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 11}})
            assert cancelled.status_code == 202
            assert await post.next() is None  # ended, without a response
        assert priming is not None and priming.id
        async with opened(client, "GET", url, {**session, "last-event-id": priming.id}) as resumed:
            assert (await resumed.message()).id == waiting.id
            assert await resumed.next() is None  # and then the end, no response
        ended = await get(client, url, {**session, "last-event-id": str(waiting.id)})
        assert ended.status_code == 204


# ----- refusals ----------------------------------------------------------------------------------


async def test_get_refusals(server: Server) -> None:
    url = server.url
    async with httpx.AsyncClient(timeout=15) as client:
        session = await initialize(client, url)
        other = await initialize(client, url)
        stream_only = {"accept": "text/event-stream"}

        no_session = await get(client, url, stream_only)
        assert no_session.status_code == 400 and "Mcp-Session-Id" in error_of(no_session)["message"]

        modern = await get(client, url, {**stream_only, "mcp-protocol-version": "2026-07-28"})
        assert modern.status_code == 405 and modern.headers["allow"] == "POST"
        assert error_of(modern)["code"] == -32600

        json_only = await get(client, url, {**session, "accept": "application/json"})
        assert json_only.status_code == 406

        forged = await get(client, url, {**session, "mcp-session-id": session["mcp-session-id"][:-3] + "abc"})
        assert forged.status_code == 404

        # An id of the other session's stream, a tampered one, and no id at all.
        async with opened(client, "GET", url, other) as stream:
            foreign = (await stream.next() or Event(None, None, None)).id
        assert foreign is not None
        stream_name, seq, mac = foreign.split(".")
        for bad in (foreign, f"{stream_name}.{int(seq) + 5}.{mac}", f"{stream_name}.{seq}.{'A' * 16}", "garbage"):
            refused = await get(client, url, {**session, "last-event-id": bad})
            assert refused.status_code == 400, bad
            assert error_of(refused)["message"] == "Bad Request: Last-Event-ID is not an event of this session"


async def test_limits_per_session_and_per_principal(limited: Server) -> None:
    url = limited.url
    async with httpx.AsyncClient(timeout=15) as client:
        first, second, third = [await initialize(client, url) for _ in range(3)]
        async with opened(client, "GET", url, first) as held:
            priming = await held.next()
            assert priming is not None
            # A second stream of the same session (a request stream resumed by GET): over the limit.
            body = {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "steps", "arguments": {"count": 1}}}
            async with opened(client, "POST", url, first, body) as post:
                let_go = await post.next()
            assert let_go is not None and let_go.id
            refused = await get(client, url, {**first, "last-event-id": let_go.id})
            assert refused.status_code == 429
            error = error_of(refused)
            assert error["code"] == -31429 and error["data"] == {"per": "session", "limit": 1}

            async with opened(client, "GET", url, second) as also_held:
                await also_held.next()
                over = await get(client, url, third)
                assert over.status_code == 429
                assert error_of(over)["data"] == {"per": "principal", "limit": 2}
        # Both streams closed: the server drops their leases as it sees the disconnects, and
        # then the third session gets its stream.
        for _ in range(200):
            async with client.stream("GET", url, headers=third) as response:
                if response.status_code == 200:
                    break
                assert response.status_code == 429
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the closed streams' leases were never dropped")


# ----- stores that cannot keep streams, and stores without pub/sub ---------------------------------


async def test_a_store_without_atomic_operations_keeps_no_streams() -> None:
    app = EdgeMCP("kv-only", secret="s3cret", store=WorkersKVStore(FakeKVNamespace()))

    @app.tool()
    async def noisy(ctx: Context) -> str:
        await ctx.progress(1, 2)
        return "done"

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app.asgi()), base_url="http://localhost") as client:
        session = await initialize(client, "/mcp")
        response = await client.get("/mcp", headers=session)
        assert response.status_code == 405 and response.headers["allow"] == "POST, DELETE"
        assert "no SSE streams" in error_of(response)["message"]
        streamed = await client.post("/mcp", headers=session, json={
            "jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "noisy", "arguments": {}, "_meta": {"progressToken": "p"}}})
    # Still a stream, as before streams could be resumed: no priming event, no ids.
    assert streamed.headers["content-type"] == "text/event-stream"
    assert "notifications/progress" in streamed.text and "id:" not in streamed.text


@pytest.fixture(scope="module")
def workers_shaped() -> Iterator[Server]:
    running = Server("tests.apps.streams:app", env={"EDGEMCP_TEST_STORE": "workers-fakes"})
    yield running
    running.stop()


async def test_without_pubsub_streams_poll_the_exact_store(workers_shaped: Server) -> None:
    """A Worker's store: sessions in Workers KV, logs and leases in the Durable Object
    store (FAKE bindings, one process), no pub/sub: open streams re-read the store."""
    url = workers_shaped.url
    async with httpx.AsyncClient(timeout=15) as client:
        session = await initialize(client, url)
        async with opened(client, "GET", url, session) as stream:
            await stream.next()
            await call(client, url, session, "change", kind="resources")
            assert method_of(await stream.message()) == "notifications/resources/list_changed"
        body = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "steps", "arguments": {"count": 2}}}
        async with opened(client, "POST", url, session, body) as post:
            priming = await post.next()
        assert priming is not None and priming.id
        async with opened(client, "GET", url, {**session, "last-event-id": priming.id}) as resumed:
            final = await resumed.message()  # no log level: the steps are not logged
        assert final.data["result"]["content"][0]["text"] == "2 steps"
