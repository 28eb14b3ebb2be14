"""Observability: OpenTelemetry spans and metrics (the real SDK, exporting to memory), the
correlation id, and the audit log (every outcome, and never a raw argument).

The app runs in-process (httpx's ASGI transport) so the SDK's in-memory exporter sees its
spans; the downstream server a tool calls is a real HTTP server on a thread, so the
outbound call goes through httpx's real transport and its instrumentation.
"""

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

import httpx
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from edgemcp import EdgeMCP, Telemetry, ToolError
from edgemcp.guards import BearerTokens

from .conftest import JSONHandler, Server, serve_http

MODERN = "2026-07-28"
ACCEPT = "application/json, text/event-stream"
MARKER = "PII-MARKER-7f3a9c"  # must never reach a span attribute, a log line or an audit record
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
META_TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
META_PARENT_ID = "b7ad6b7169203331"

# One SDK for the module: the httpx instrumentation is process-wide and keeps the first
# tracer provider it is given.
EXPORTER = InMemorySpanExporter()
PROVIDER = TracerProvider()
PROVIDER.add_span_processor(SimpleSpanProcessor(EXPORTER))
METRICS = InMemoryMetricReader()
METER_PROVIDER = MeterProvider(metric_readers=[METRICS])


class Downstream(JSONHandler):
    """A real HTTP server a tool calls; it remembers the trace headers it was sent."""

    seen: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:
        Downstream.seen.append({k.lower(): v for k, v in self.headers.items()})
        self.reply_json({"ok": True})


@pytest.fixture(scope="module")
def downstream() -> Iterator[str]:
    server = serve_http(Downstream)
    yield f"http://127.0.0.1:{server.server_address[1]}/data"
    server.shutdown()


class ListSink:
    """An audit sink that keeps records in a list (a real sink: the Protocol's one method)."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def write(self, record: dict[str, Any]) -> None:
        self.records.append(record)


def build(sink: ListSink, downstream: str = "http://127.0.0.1:9/") -> EdgeMCP:
    app = EdgeMCP(
        "observed", secret="audit-secret", auth=BearerTokens(
            {"alice": "alice-token", "bob": "bob-token"}, scopes={"alice": ["admin"]}, tenant="acme"),
        telemetry=Telemetry(tracer_provider=PROVIDER, meter_provider=METER_PROVIDER), audit=sink)

    @app.tool(audit={"city": "keep", "card": "last4", "note": "length"})
    def echo(text: str, city: str = "", card: str = "", note: str = "") -> str:
        return text

    @app.tool
    def crash(text: str) -> str:
        raise RuntimeError(f"boom with {text}")

    @app.tool
    def refuse(text: str) -> str:
        raise ToolError("not today")

    @app.tool(cache_ttl=60, cache_scope="public")
    def cached(text: str) -> str:
        return text.upper()

    @app.tool(rate_limit="1/minute")
    def scarce(text: str) -> str:
        return text

    @app.tool(scopes=["admin"])
    def admin_only(text: str) -> str:
        return text

    @app.tool
    async def fetch(text: str) -> str:
        async with httpx.AsyncClient() as client:
            response = await client.get(downstream)
        return f"{response.status_code}"

    return app


async def call(client: httpx.AsyncClient, name: str, arguments: dict[str, Any], token: str | None = "alice-token",
               meta: dict[str, Any] | None = None, **headers: str) -> httpx.Response:
    sent = {"accept": ACCEPT, "mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": name,
            **headers}
    if token:
        sent["authorization"] = f"Bearer {token}"
    response = await client.post("/mcp", headers=sent, json={
        "jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
            "name": name, "arguments": arguments,
            "_meta": {"io.modelcontextprotocol/protocolVersion": MODERN,
                      "io.modelcontextprotocol/clientCapabilities": {},
                      "io.modelcontextprotocol/clientInfo": {"name": "obs-test", "version": "9.9"},
                      **(meta or {})}}})
    await asyncio.sleep(0)  # audit records are written at the end of the event-loop turn
    return response


@pytest.fixture
def sink() -> ListSink:
    return ListSink()


@pytest.fixture
async def client(sink: ListSink, downstream: str) -> AsyncIterator[httpx.AsyncClient]:
    EXPORTER.clear()
    app = build(sink, downstream)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app.asgi()),
                                 base_url="http://localhost") as c:
        yield c


def server_spans() -> list[ReadableSpan]:
    return [s for s in EXPORTER.get_finished_spans() if s.kind == SpanKind.SERVER]


def only_server_span() -> ReadableSpan:
    spans = server_spans()
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]


# ----- spans ---------------------------------------------------------------------------


async def test_server_span_follows_the_mcp_conventions_and_the_header_parent(client: httpx.AsyncClient) -> None:
    response = await call(client, "echo", {"text": MARKER},
                          traceparent=f"00-{TRACE_ID}-{PARENT_ID}-01")
    assert response.status_code == 200
    span = only_server_span()
    assert span.name == "tools/call echo"
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert span.parent is not None and format(span.parent.span_id, "016x") == PARENT_ID
    attributes = dict(span.attributes or {})
    assert attributes["mcp.method.name"] == "tools/call"
    assert attributes["mcp.protocol.version"] == MODERN
    assert attributes["jsonrpc.request.id"] == "7"
    assert attributes["gen_ai.tool.name"] == "echo"
    assert attributes["gen_ai.operation.name"] == "execute_tool"
    assert "error.type" not in attributes
    assert span.status.status_code != StatusCode.ERROR
    assert MARKER not in json.dumps(attributes)
    # The correlation id is the trace id, in the header and the result's _meta.
    assert response.headers["x-correlation-id"] == TRACE_ID
    assert response.json()["result"]["_meta"]["dev.edgemcp/correlationId"] == TRACE_ID


async def test_meta_trace_context_is_the_parent_and_the_http_one_a_link(client: httpx.AsyncClient) -> None:
    await call(client, "echo", {"text": "hi"}, meta={
        "traceparent": f"00-{META_TRACE_ID}-{META_PARENT_ID}-01", "tracestate": "rojo=1"},
        traceparent=f"00-{TRACE_ID}-{PARENT_ID}-01")
    span = only_server_span()
    assert format(span.context.trace_id, "032x") == META_TRACE_ID
    assert span.parent is not None and format(span.parent.span_id, "016x") == META_PARENT_ID
    assert span.context.trace_state.get("rojo") == "1"
    assert [format(link.context.span_id, "016x") for link in span.links] == [PARENT_ID]


async def test_without_trace_context_a_new_trace_starts(client: httpx.AsyncClient) -> None:
    response = await call(client, "echo", {"text": "hi"})
    span = only_server_span()
    assert span.parent is None
    assert response.headers["x-correlation-id"] == format(span.context.trace_id, "032x")


async def test_store_calls_are_child_spans(client: httpx.AsyncClient) -> None:
    await call(client, "cached", {"text": "hi"})
    server = only_server_span()
    store = [s for s in EXPORTER.get_finished_spans() if s.kind == SpanKind.CLIENT]
    operations = {(s.attributes or {}).get("db.operation.name") for s in store}
    assert {"GET", "SET"} <= operations  # a cache miss reads, then stores the result
    assert all(s.parent is not None and s.parent.span_id == server.context.span_id for s in store)
    assert all((s.attributes or {}).get("db.system.name") == "memory" for s in store)
    # Keys hold session ids and argument digests: only the kind of record is recorded
    # (the cache entry, plus the guards' records: revoked tokens, kill switches).
    kinds = {(s.attributes or {}).get("db.collection.name") for s in store}
    assert "cache" in kinds and kinds <= {"cache", "token", "killswitches"}
    assert not any(":" in json.dumps(dict(s.attributes or {})).replace('": "', "") for s in store)


async def test_outbound_httpx_call_is_a_child_span_and_carries_the_context(client: httpx.AsyncClient) -> None:
    Downstream.seen.clear()
    response = await call(client, "fetch", {"text": "go"}, traceparent=f"00-{TRACE_ID}-{PARENT_ID}-01")
    assert response.json()["result"]["content"][0]["text"] == "200"
    server = only_server_span()
    outbound = [s for s in EXPORTER.get_finished_spans()
                if s.kind == SpanKind.CLIENT and "GET" in s.name and (s.attributes or {}).get("db.system.name") is None]
    assert len(outbound) == 1, [s.name for s in EXPORTER.get_finished_spans()]
    http_span = outbound[0]
    assert http_span.parent is not None and http_span.parent.span_id == server.context.span_id
    # The downstream server saw the same trace, with the outbound call's span as its parent.
    assert len(Downstream.seen) == 1
    _version, trace_id, parent_id, _flags = Downstream.seen[0]["traceparent"].split("-")
    assert trace_id == TRACE_ID
    assert parent_id == format(http_span.context.span_id, "016x")


@pytest.mark.parametrize(("tool", "error_type"), [
    ("crash", "RuntimeError"),       # an exception in the tool: a system error
    ("refuse", "tool_error"),        # the tool said no (isError): the conventions' tool_error
    ("missing", "-32602"),           # no such tool: the JSON-RPC error code
])
async def test_failures_are_error_spans(client: httpx.AsyncClient, tool: str, error_type: str) -> None:
    await call(client, tool, {"text": MARKER})
    span = only_server_span()
    assert span.status.status_code == StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == error_type
    assert MARKER not in (span.status.description or "")
    assert MARKER not in json.dumps(dict(span.attributes or {}))


async def test_operation_duration_metric_is_recorded(client: httpx.AsyncClient) -> None:
    await call(client, "echo", {"text": "hi"})
    await call(client, "crash", {"text": "hi"})
    points = []
    data = METRICS.get_metrics_data()
    assert data is not None
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == "mcp.server.operation.duration":
                    assert metric.unit == "s"
                    points.extend(metric.data.data_points)
    by_tool = {(p.attributes.get("gen_ai.tool.name"), p.attributes.get("error.type")): p.count for p in points}
    assert by_tool.get(("echo", None), 0) >= 1
    assert by_tool.get(("crash", "RuntimeError"), 0) >= 1


async def test_spans_without_an_sdk_cost_nothing_and_break_nothing(sink: ListSink) -> None:
    app = EdgeMCP("untraced", secret="s", telemetry=False, audit=sink)

    @app.tool
    def echo(text: str) -> str:
        return text

    EXPORTER.clear()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app.asgi()), base_url="http://localhost") as c:
        response = await call(c, "echo", {"text": "hi"}, token=None)
    assert response.status_code == 200
    assert EXPORTER.get_finished_spans() == ()
    correlation = response.headers["x-correlation-id"]
    assert len(correlation) == 16 and int(correlation, 16) >= 0
    assert sink.records[0]["correlation_id"] == correlation
    assert sink.records[0]["trace_id"] is None


# ----- the audit log ------------------------------------------------------------------------


async def test_an_audit_record_for_each_outcome_and_never_a_raw_argument(
        client: httpx.AsyncClient, sink: ListSink) -> None:
    arguments = {"text": MARKER}
    expected = [
        ("echo", "alice-token", 200, "success"),
        ("refuse", "alice-token", 200, "business-error"),
        ("crash", "alice-token", 200, "system-error"),
        ("cached", "alice-token", 200, "success"),        # miss: runs the tool
        ("cached", "bob-token", 200, "cache-hit"),        # public entry, shared
        ("scarce", "alice-token", 200, "success"),
        ("scarce", "alice-token", 429, "rate-limited"),
        ("admin_only", "bob-token", 403, "denied"),       # missing scope
        ("echo", None, 401, "denied"),                    # no credentials at all
        ("echo", "forged-token", 401, "denied"),
    ]
    for tool, token, status, _ in expected:
        response = await call(client, tool, arguments, token=token)
        assert response.status_code == status, (tool, response.text)
    assert [(r["tool"], r["outcome"]) for r in sink.records] == [(t, o) for t, _, _, o in expected]
    dumped = json.dumps(sink.records)
    assert MARKER not in dumped
    first = sink.records[0]
    assert first["agent_id"] == "alice" and first["tenant"] == "acme"
    assert first["event"] == "tools/call" and first["era"] == "modern" and first["protocol_version"] == MODERN
    assert first["client"] == {"name": "obs-test", "version": "9.9"}
    assert first["latency_ms"] >= 0
    assert first["time"].endswith("Z") and first["trace_id"] == first["correlation_id"]
    assert first["arguments"]["fingerprint"].startswith("hmac-sha256:")
    # Same arguments, same fingerprint (keyed by the app secret); other arguments differ.
    assert len({r["arguments"]["fingerprint"] for r in sink.records}) == 1
    await call(client, "echo", {"text": "something else"})
    assert sink.records[-1]["arguments"]["fingerprint"] != first["arguments"]["fingerprint"]
    assert sink.records[2]["error"] == "RuntimeError"
    assert sink.records[-3]["agent_id"] is None  # denied before anyone was identified


async def test_declared_field_summaries_and_the_correlation_id(client: httpx.AsyncClient, sink: ListSink) -> None:
    response = await call(client, "echo", {"text": MARKER, "city": "Lisbon", "card": "4111111111111234",
                                           "note": f"{MARKER} call me"})
    record = sink.records[-1]
    assert record["arguments"]["fields"] == {"city": "Lisbon", "card": "…1234", "note": len(MARKER) + 8}
    assert MARKER not in json.dumps(record)
    assert record["correlation_id"] == response.headers["x-correlation-id"]
    assert record["request_id"] == 7


async def test_errors_carry_the_correlation_id_header_too(client: httpx.AsyncClient, sink: ListSink) -> None:
    response = await call(client, "echo", {"text": "hi"}, token=None)
    assert response.status_code == 401
    assert response.headers["x-correlation-id"] == sink.records[-1]["correlation_id"]


async def test_a_broken_sink_never_fails_the_call(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def write(self, record: dict[str, Any]) -> None:
            raise OSError(f"disk full {record['tool']}")

    app = EdgeMCP("broken-sink", secret="s", audit=Broken())

    @app.tool
    def echo(text: str) -> str:
        return text

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app.asgi()), base_url="http://localhost") as c:
        response = await call(c, "echo", {"text": MARKER}, token=None)
    assert response.status_code == 200
    assert "audit sink failed: OSError" in caplog.text
    assert MARKER not in caplog.text


def test_default_audit_log_is_json_lines_on_stdout() -> None:
    """The real default path: an example server under uvicorn writes one JSON object per
    tool call to its stdout, and the raw argument is not in its output at all."""
    server = Server("examples.weather:app")
    try:
        headers = {"accept": ACCEPT, "mcp-protocol-version": MODERN, "mcp-method": "tools/call",
                   "mcp-name": "forecast"}
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": "forecast", "arguments": {"city": MARKER, "day": "2026-11-22"},
            "_meta": {"io.modelcontextprotocol/protocolVersion": MODERN,
                      "io.modelcontextprotocol/clientCapabilities": {}}}}
        response = httpx.post(server.url, headers=headers, json=body)
        assert response.status_code == 200
    finally:
        output = server.stop()
    records = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    calls = [r for r in records if r.get("event") == "tools/call"]
    assert len(calls) == 1
    assert calls[0]["tool"] == "forecast"
    assert calls[0]["correlation_id"] == response.headers["x-correlation-id"]
    assert MARKER not in output


async def test_an_async_sink_is_awaited() -> None:
    class Collector:
        """A sink with an async write, like one posting to a collector."""

        def __init__(self) -> None:
            self.records: list[dict[str, Any]] = []

        async def write(self, record: dict[str, Any]) -> None:
            self.records.append(record)

    sink = Collector()
    app = EdgeMCP("async-sink", secret="s", audit=sink)

    @app.tool
    def echo(text: str) -> str:
        return text

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app.asgi()), base_url="http://localhost") as c:
        await call(c, "echo", {"text": "hi"}, token=None)
    assert [r["outcome"] for r in sink.records] == ["success"]


def test_the_fingerprint_is_hmac_sha256_of_the_canonical_arguments_keyed_from_the_secret() -> None:
    """What the README promises an investigator, checked against the standard library's HMAC
    (the audit log computes it its own faster way), for short, block-sized and long keys."""
    import hashlib
    import hmac

    from edgemcp.jsoncodec import canonical
    from edgemcp.observe.audit import AuditLog, LoggingSink, derive_key

    for secret in ("s", "x" * 64, "y" * 65, "z" * 300):
        for key in (derive_key(secret), secret.encode()):
            log = AuditLog(LoggingSink(), key)
            for arguments in ({}, {"b": [1, None], "a": "é"}, {"text": MARKER}):
                expected = hmac.new(key, canonical(arguments), hashlib.sha256).hexdigest()[:32]
                assert log.fingerprint(arguments) == "hmac-sha256:" + expected


def test_record_times_are_utc_iso_8601_to_the_millisecond() -> None:
    from edgemcp.observe.audit import iso_time

    assert iso_time(0.0) == "1970-01-01T00:00:00.000Z"
    assert iso_time(1700000000.1239) == "2023-11-14T22:13:20.123Z"
    assert iso_time(1700000000.1231) == "2023-11-14T22:13:20.123Z"  # the same millisecond, remembered
    assert iso_time(1700000000.9995) == "2023-11-14T22:13:20.999Z"
    assert iso_time(1700000001.0004) == "2023-11-14T22:13:21.000Z"  # the next second
