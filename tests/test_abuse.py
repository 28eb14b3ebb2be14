"""One anonymous client opens 2,600 connections at once against a real uvicorn
(tests/apps/limits.py, default limits but a 3 s body deadline so the test is short): idle
connections, slow bodies, listen streams and an initialize flood. Every answer is the
documented one, the server keeps answering, and its RSS (from /proc) stays bounded."""

import asyncio
import json
import resource
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from . import rawhttp
from .conftest import Server

ACCEPT = "application/json, text/event-stream"
MODERN = "2026-07-28"
META = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}
IDLE, SLOW, LISTEN, FLOOD = 1000, 1000, 300, 300  # connections of each kind, all open at once
PER_PRINCIPAL = 64  # the default max_streams_per_principal
SESSION_BURST = 100  # the session_rate this test sets: 100 per 20 s


def raise_file_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    raise_file_limit(4 * (IDLE + SLOW + LISTEN + FLOOD) + 1024)  # the server inherits it
    running = Server(
        "tests.apps.limits:app", {"EDGEMCP_TEST_BODY_TIMEOUT": "3", "EDGEMCP_TEST_SESSION_RATE": "100/20s"}
    )
    yield running
    running.stop()


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def modern_headers(method: str, name: str | None = None) -> dict[str, str]:
    headers = {"content-type": "application/json", "accept": ACCEPT, "mcp-protocol-version": MODERN,
               "mcp-method": method}
    return headers | ({"mcp-name": name} if name else {})


async def echo(port: int) -> int:
    status, _, body = await rawhttp.post(port, modern_headers("tools/call", "echo"), {
        "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "hi"},
                                                                      "_meta": META}})
    assert status != 200 or body["result"]["content"][0]["text"] == "hi"
    return status


async def idle(port: int) -> asyncio.StreamWriter:
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    return writer


async def slow_body(port: int) -> tuple[int, dict[str, Any]]:
    """A call whose body never arrives in full: answered when the deadline passes."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": {"name": "echo", "arguments": {"text": "x" * 100}, "_meta": META}}).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(rawhttp.request_head(port, modern_headers("tools/call", "echo"), len(body)) + body[:20])
        await writer.drain()
        status, _, answer = await rawhttp.read_response(reader)
        return status, answer
    finally:
        writer.close()


async def listen(port: int) -> tuple[int, Any, asyncio.StreamWriter]:
    """A subscriptions/listen stream: (status, first message or error, the connection kept open)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "subscriptions/listen",
                       "params": {"notifications": {"toolsListChanged": True}, "_meta": META}}).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(rawhttp.request_head(port, modern_headers("subscriptions/listen"), len(body)) + body)
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
    status = int(head.split()[1])
    if status != 200:
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        return status, json.loads(await reader.readexactly(length)), writer
    first = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)  # a chunk: size line, then the event
    data = first[first.index(b"data: ") + 6:].split(b"\r\n")[0]
    return status, json.loads(data), writer


async def initialize(port: int) -> tuple[int, dict[str, str], Any]:
    return await rawhttp.post(port, {"content-type": "application/json", "accept": ACCEPT}, {
        "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "flood", "version": "1"}}})


async def test_thousands_of_idle_connections_and_streams_stay_bounded(server: Server) -> None:
    port, pid = server.port, server.process.pid
    for _ in range(20):  # warm up: imports, caches, the store
        assert await echo(port) == 200
    baseline = rss_mib(pid)

    idle_writers = await asyncio.gather(*(idle(port) for _ in range(IDLE)))
    slow = [asyncio.ensure_future(slow_body(port)) for _ in range(SLOW)]
    listens = await asyncio.gather(*(listen(port) for _ in range(LISTEN)))
    flood = await asyncio.gather(*(initialize(port) for _ in range(FLOOD)))
    # With all of that open, the server still answers, and has not grown much.
    assert await echo(port) == 200
    held = rss_mib(pid)
    slow_answers = await asyncio.gather(*slow)
    after_deadline = rss_mib(pid)
    for writer in idle_writers + [writer for _, _, writer in listens]:
        writer.close()

    print(f"RSS MiB: baseline {baseline:.1f}, with {IDLE} idle + {SLOW} slow bodies + {LISTEN} listen streams "
          f"+ {FLOOD} initializes open {held:.1f}, after the body deadline {after_deadline:.1f}")
    # Listen streams: the principal's first 64 are served, the rest refused with 429.
    statuses = [status for status, _, _ in listens]
    assert statuses.count(200) == PER_PRINCIPAL and statuses.count(429) == LISTEN - PER_PRINCIPAL
    assert {first["method"] for status, first, _ in listens if status == 200} == {
        "notifications/subscriptions/acknowledged"}
    assert {first["error"]["code"] for status, first, _ in listens if status == 429} == {-31429}
    # The initialize flood: the burst passes, the rest gets 429 with Retry-After.
    assert [status for status, _, _ in flood].count(200) == SESSION_BURST
    refused = [(headers, body) for status, headers, body in flood if status == 429]
    assert len(refused) == FLOOD - SESSION_BURST
    assert all(int(headers["retry-after"]) >= 1 and body["error"]["code"] == -31429 for headers, body in refused)
    # Slow bodies: every one cut off with 408.
    assert {status for status, _ in slow_answers} == {408}
    assert {answer["error"]["code"] for _, answer in slow_answers} == {-32600}
    # 2,600 connections held at once cost the server well under 100 MiB (about 40 KiB each).
    assert held - baseline < 100, (baseline, held)
    # And the server is still fine once they are gone.
    assert await echo(port) == 200
