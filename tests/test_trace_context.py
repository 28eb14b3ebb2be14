"""The caller's trace id reaches the audit record and the correlation id from a W3C
``traceparent`` (header or ``params._meta``) with no OpenTelemetry SDK in the process."""

import asyncio
import json
import urllib.request
from typing import Any

import httpx
import pytest

from edgemcp import EdgeMCP
from edgemcp.observe.traceparent import trace_id_of

from .conftest import Server

MODERN = "2026-07-28"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
HEADER = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
META_TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
META = f"00-{META_TRACE_ID}-b7ad6b7169203331-01"


@pytest.mark.parametrize(("value", "expected"), [
    (HEADER, TRACE_ID),
    (f"00-{TRACE_ID}-00f067aa0ba902b7-00", TRACE_ID),          # not sampled: still its trace
    (f"cc-{TRACE_ID}-00f067aa0ba902b7-01-what-comes-next", TRACE_ID),  # a later version may add fields
    (f"00-{TRACE_ID}-00f067aa0ba902b7-01-extra", None),         # version 00 may not
    (f"ff-{TRACE_ID}-00f067aa0ba902b7-01", None),               # version ff is invalid
    (f"00-{'0' * 32}-00f067aa0ba902b7-01", None),               # all-zero trace id
    (f"00-{TRACE_ID}-{'0' * 16}-01", None),                     # all-zero parent id
    (f"00-{TRACE_ID.upper()}-00f067aa0ba902b7-01", None),       # upper case is not allowed
    (f"00-{TRACE_ID}-00f067aa0ba902b7", None),                  # no flags
    (f"00_{TRACE_ID}_00f067aa0ba902b7_01", None),
    (f"00-{TRACE_ID[:-1]}g-00f067aa0ba902b7-01", None),
    (None, None), (42, None), ("", None),
])
def test_traceparent_parsing(value: Any, expected: str | None) -> None:
    assert trace_id_of(value) == expected


class ListSink:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def write(self, record: dict[str, Any]) -> None:
        self.records.append(record)


async def call(app: EdgeMCP, headers: dict[str, str], meta: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app.asgi()), base_url="http://localhost") as c:
        response = await c.post("/mcp", headers={
            "accept": "application/json, text/event-stream", "mcp-protocol-version": MODERN,
            "mcp-method": "tools/call", "mcp-name": "echo", **headers,
        }, json={"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": "echo", "arguments": {"text": "hi"}, "_meta": {
                "io.modelcontextprotocol/protocolVersion": MODERN,
                "io.modelcontextprotocol/clientCapabilities": {}, **meta}}})
    await asyncio.sleep(0)  # audit records are written at the end of the event-loop turn
    return response


@pytest.mark.parametrize(("headers", "meta", "expected"), [
    ({"traceparent": HEADER}, {}, TRACE_ID),
    ({}, {"traceparent": META}, META_TRACE_ID),
    ({"traceparent": HEADER}, {"traceparent": META}, META_TRACE_ID),   # the request's own context first
    ({"traceparent": HEADER}, {"traceparent": "garbage"}, TRACE_ID),
    ({"traceparent": f"00-{'0' * 32}-00f067aa0ba902b7-01"}, {}, None),
    ({}, {}, None),
])
async def test_the_callers_trace_without_an_sdk(headers: dict[str, str], meta: dict[str, str],
                                                expected: str | None) -> None:
    sink = ListSink()
    app = EdgeMCP("traced-by-caller", secret="s", telemetry=False, audit=sink)

    @app.tool
    def echo(text: str) -> str:
        return text

    response = await call(app, headers, meta)
    record = sink.records[0]
    assert record["trace_id"] == expected
    correlation = response.headers["x-correlation-id"]
    assert record["correlation_id"] == correlation
    assert response.json()["result"]["_meta"]["dev.edgemcp/correlationId"] == correlation
    if expected is None:
        assert len(correlation) == 16  # a new random id
    else:
        assert correlation == expected


def test_a_real_server_with_no_sdk_records_the_callers_trace() -> None:
    """A uvicorn process that never configured OpenTelemetry: the record on its stdout and
    the correlation id carry the trace id of the caller's traceparent header."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "forecast", "arguments": {"city": "Oslo", "day": "2026-12-05"}, "_meta": {
            "io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}}}
    # urllib, not httpx: once another test has instrumented httpx in this process, httpx would
    # put its own span's traceparent on the request instead of ours.
    server = Server("examples.weather:app")
    try:
        request = urllib.request.Request(server.url, data=json.dumps(body).encode(), method="POST", headers={
            "content-type": "application/json", "accept": "application/json, text/event-stream",
            "mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": "forecast",
            "traceparent": HEADER})
        with urllib.request.urlopen(request, timeout=20) as response:
            status, correlation = response.status, response.headers["x-correlation-id"]
    finally:
        output = server.stop()
    assert status == 200
    records = [json.loads(line) for line in output.splitlines() if line.startswith('{"time"')]
    assert [(r["trace_id"], r["correlation_id"]) for r in records] == [(TRACE_ID, TRACE_ID)]
    assert correlation == TRACE_ID
