"""A slow store: every Redis command has a deadline (``store_timeout``, 2 s by default), so
requests answer 503 + Retry-After instead of piling up. A real uvicorn on a real
redis-server, behind a latency-injecting TCP proxy written here (each chunk, in each
direction, waits ``delay`` seconds), with the latency changed while the server runs."""

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from . import rawhttp
from .conftest import RedisServer, Server

ACCEPT = "application/json, text/event-stream"
DEADLINE = 2.0  # the default store_timeout


class LatencyProxy:
    """TCP from a free loopback port to ``target``, every chunk held ``delay`` seconds; its
    own event loop on a daemon thread, so the test's loop and the server are free."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.delay = 0.0
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        self.port = 0

        async def serve() -> None:
            server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
            self.port = server.sockets[0].getsockname()[1]
            started.set()
            async with server:
                await server.serve_forever()

        threading.Thread(target=self.loop.run_until_complete, args=(serve(),), daemon=True).start()
        started.wait(10)

    async def _connection(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(self._pump(client_reader, upstream_writer), self._pump(upstream_reader, client_writer),
                             return_exceptions=True)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                if self.delay:
                    await asyncio.sleep(self.delay)
                writer.write(chunk)
                await writer.drain()
        finally:
            writer.close()


@pytest.fixture(scope="module")
def slow_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LatencyProxy, Server]]:
    redis = RedisServer(tmp_path_factory.mktemp("slow-redis"))
    proxy = LatencyProxy(redis.port)
    server = Server("tests.apps.limits:app", {"EDGEMCP_STORE": f"redis://127.0.0.1:{proxy.port}/0",
                                              "EDGEMCP_TEST_SESSION_RATE": "1000/second"})
    yield proxy, server
    server.stop()
    redis.stop()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def open_session(client: httpx.AsyncClient, url: str) -> dict[str, str]:
    response = await client.post(url, headers={"accept": ACCEPT, "content-type": "application/json"}, json={
        "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
    assert response.status_code == 200, response.text
    return {"accept": ACCEPT, "content-type": "application/json", "mcp-session-id": response.headers["mcp-session-id"],
            "mcp-protocol-version": "2025-11-25"}


def call(n: int) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": n, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": str(n)}}}


async def burst(port: int, session: dict[str, str], n: int) -> tuple[list[tuple[int, dict[str, str], Any]], float]:
    """``n`` session calls at once, each on a connection of its own; and how long until all
    were answered."""
    started = time.monotonic()
    answers = await asyncio.gather(*(rawhttp.post(port, session, call(i)) for i in range(n)))
    return list(answers), time.monotonic() - started


MODERN_HEADERS = {"accept": ACCEPT, "content-type": "application/json", "mcp-protocol-version": "2026-07-28",
                  "mcp-method": "tools/call", "mcp-name": "echo"}
MODERN_CALL = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
    "name": "echo", "arguments": {"text": "x"}, "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                                                          "io.modelcontextprotocol/clientCapabilities": {}}}}


async def test_a_slow_store_within_the_deadline_answers_slowly(slow_store: tuple[LatencyProxy, Server]) -> None:
    proxy, server = slow_store
    proxy.delay = 0.0
    async with httpx.AsyncClient(timeout=30) as client:
        session = await open_session(client, server.url)
    proxy.delay = 0.1  # 100 ms each way: 200 ms per command
    try:
        answers, _ = await burst(server.port, session, 20)
    finally:
        proxy.delay = 0.0
    assert [status for status, _, _ in answers] == [200] * 20
    assert sorted(body["result"]["content"][0]["text"] for _, _, body in answers) == sorted(str(i) for i in range(20))


async def test_a_store_slower_than_the_deadline_gets_503_fast_and_nothing_piles_up(
        slow_store: tuple[LatencyProxy, Server]) -> None:
    proxy, server = slow_store
    proxy.delay = 0.0
    async with httpx.AsyncClient(timeout=30) as client:
        session = await open_session(client, server.url)
    assert (await rawhttp.post(server.port, session, call(0)))[0] == 200
    before = rss_kib(server.process.pid)
    proxy.delay = 2.0  # 2 s each way: 4 s per command, twice the deadline
    try:
        rounds = []
        for _ in range(3):
            rounds.append(await burst(server.port, session, 150))
            # Stateless 2026-07-28 work needs no store: it goes on.
            assert (await rawhttp.post(server.port, MODERN_HEADERS, MODERN_CALL))[0] == 200
        after = rss_kib(server.process.pid)
    finally:
        proxy.delay = 0.0
    # The store is back: the session is still there (nothing was lost, only refused).
    recovered = await rawhttp.post(server.port, session, call(1))
    for answers, elapsed in rounds:
        assert {status for status, _, _ in answers} == {503}
        assert {headers["retry-after"] for _, headers, _ in answers} == {"5"}
        assert {body["error"]["message"] for _, _, body in answers} == {"Service unavailable: state store unreachable"}
        # 150 answers, all before the store could have answered one command (4 s): each
        # waited at most the deadline (or was refused at once by the full connection
        # pool), none queued behind another.
        assert elapsed < 2 * 2.0, elapsed
    assert recovered[0] == 200
    # Memory stays flat: three rounds of 150 stuck requests add less than 32 MiB.
    assert after - before < 32 * 1024, (before, after)


def test_the_deadline_is_a_setting() -> None:
    from edgemcp import EdgeMCP
    from edgemcp.store.redis import RedisStore

    app = EdgeMCP("deadline", secret="s", store="redis://127.0.0.1:1/0", store_timeout=0.5)
    store: Any = app.start().store
    assert isinstance(store, RedisStore)
    options = store.client.connection_pool.connection_kwargs
    assert options["socket_timeout"] == 0.5 and options["socket_connect_timeout"] == 0.5
    assert RedisStore("redis://127.0.0.1:1/0").client.connection_pool.connection_kwargs["socket_timeout"] == DEADLINE
