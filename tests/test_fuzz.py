"""Property-based fuzzing of the HTTP surface (hypothesis), in process (edgemcp.inprocess),
both eras: request methods, headers and bodies, from valid-ish JSON-RPC to garbage, wrong
types, huge numbers, deep nesting within and past the limit, unicode. Every answer must
be valid: no 5xx (the store is memory: never down), a JSON-RPC response whose HTTP status
fits its error code (README "HTTP behaviour and error codes"), an SSE stream of JSON-RPC
messages, or an empty 202/204 (200 for DELETE). Bounded: a fixed number of examples and
a deadline each, well under a minute in all."""

import asyncio
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from edgemcp import Context, EdgeMCP
from edgemcp.inprocess import InProcess
from edgemcp.protocol.versions import SUPPORTED_VERSIONS

ACCEPT = "application/json, text/event-stream"
MODERN = "2026-07-28"
TOOLS = ("echo", "add", "noisy", "fails")
METHODS = ("initialize", "notifications/initialized", "ping", "tools/list", "tools/call", "resources/list",
           "resources/read", "resources/templates/list", "resources/subscribe", "prompts/list", "prompts/get",
           "completion/complete", "logging/setLevel", "server/discover", "subscriptions/listen", "tasks/get",
           "notifications/cancelled", "notifications/progress")
# The HTTP statuses each JSON-RPC error code may come with.
STATUSES: dict[int, set[int]] = {
    -32700: {400},
    -32600: {400, 403, 404, 405, 406, 408, 410, 413, 415},
    -32601: {200, 404},
    -32602: {200, 400, 404},
    -32603: {503},
    -32002: {200},
    -32020: {400},
    -32021: {400},
    -32022: {400},
    -31429: {429},
}
# EDGEMCP_FUZZ_EXAMPLES=20000 EDGEMCP_FUZZ_RANDOM=1 for a longer hunt with fresh examples.
# Refusals made before the body is read (Host, Origin, method, media types, size, deadline).
BEFORE_BODY = {403, 405, 406, 408, 413, 415}
SETTINGS = settings(max_examples=int(os.environ.get("EDGEMCP_FUZZ_EXAMPLES", "1000")), deadline=2000,
                    derandomize=not os.environ.get("EDGEMCP_FUZZ_RANDOM"), database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large])


def make_app() -> EdgeMCP:
    app = EdgeMCP("fuzz", secret="s3cret", reply_timeout=1.0)

    @app.tool(read_only=True)
    def echo(text: str) -> str:
        return text

    @app.tool(cache_ttl=60, cache_scope="public")
    def add(a: int, b: int) -> int:
        return a + b

    @app.tool()
    async def noisy(ctx: Context, steps: int = 1) -> str:
        for step in range(min(steps, 3)):
            await ctx.progress(step, 3)
            await ctx.info(f"step {step}")
        return "done"

    @app.tool()
    def fails(reason: str = "") -> str:
        raise RuntimeError(reason)

    @app.resource("notes://{id}", mime_type="text/plain")
    def note(id: str) -> str:
        return f"note {id}"

    @app.prompt()
    def greet(name: str) -> str:
        return f"Hello {name}"

    return app


class Harness:
    """One app, one event loop and one in-process driver for the whole module."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.driver = InProcess(make_app().asgi())
        self.loop.run_until_complete(self.driver.__aenter__())
        self.sessions = [self.run(self._initialize()) for _ in range(3)]

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    async def _initialize(self) -> str:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "f", "version": "1"}}})
        response = await self.driver.request("POST", "/mcp", [
            (b"host", b"localhost"), (b"content-type", b"application/json"), (b"accept", ACCEPT.encode())],
            body.encode())
        await response.body()
        return response.headers["mcp-session-id"]

    def close(self) -> None:
        self.run(self.driver.__aexit__(None, None, None))
        self.loop.close()


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    running = Harness()
    yield running
    running.close()


# ----- strategies ------------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=2**63, max_value=2**200),
    st.floats(allow_nan=False), st.text(max_size=40),
)
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)), max_leaves=20)
ids = st.one_of(st.integers(-(2**70), 2**70), st.text(max_size=20), st.none(), st.booleans(), st.floats(),
                st.lists(st.integers(), max_size=2))
names = st.one_of(st.sampled_from(TOOLS), st.sampled_from(("greet", "notes://1", "nope")), st.text(max_size=30))
arguments = st.one_of(
    st.fixed_dictionaries({"text": json_values}), st.fixed_dictionaries({"a": json_values, "b": json_values}),
    st.fixed_dictionaries({"steps": st.integers(-5, 5)}), st.fixed_dictionaries({"reason": st.text(max_size=30)}),
    json_values)


def good_meta() -> dict[str, Any]:
    return {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}


@st.composite
def params_for(draw: st.DrawFn, method: str) -> dict[str, Any]:
    if method in ("tools/call", "prompts/get"):
        return {"name": draw(names), "arguments": draw(arguments)}
    if method in ("resources/read", "resources/subscribe"):
        return {"uri": draw(st.one_of(st.just("notes://7"), st.text(max_size=30)))}
    if method == "initialize":
        return {"protocolVersion": draw(st.one_of(st.sampled_from(SUPPORTED_VERSIONS), json_scalars)),
                "capabilities": draw(st.one_of(st.just({}), json_values)),
                "clientInfo": draw(st.one_of(st.just({"name": "f", "version": "1"}), json_values))}
    if method == "subscriptions/listen":
        return {"notifications": draw(st.one_of(st.just({"toolsListChanged": True}), json_values))}
    if method == "completion/complete":
        return {"ref": draw(st.one_of(st.just({"type": "ref/prompt", "name": "greet"}), json_values)),
                "argument": draw(st.one_of(st.just({"name": "name", "value": "a"}), json_values))}
    if method == "logging/setLevel":
        return {"level": draw(st.one_of(st.just("debug"), json_scalars))}
    return draw(st.one_of(st.just({}), st.dictionaries(st.text(max_size=10), json_values, max_size=3)))


FAULTS = ("none", "none", "none", "none", "id", "params", "meta", "jsonrpc", "method", "deep", "extra")


def mutate(draw: st.DrawFn, message: dict[str, Any], params: dict[str, Any], fault: str) -> None:
    if fault == "id":
        message["id"] = draw(ids)
    elif fault == "params":
        message["params"] = draw(json_values)
    elif fault == "meta":
        params["_meta"] = draw(st.one_of(json_values, st.fixed_dictionaries({
            "io.modelcontextprotocol/protocolVersion": json_scalars,
            "io.modelcontextprotocol/clientCapabilities": json_values})))
    elif fault == "jsonrpc":
        message["jsonrpc"] = draw(json_scalars)
    elif fault == "method":
        message["method"] = draw(st.one_of(st.text(max_size=30), json_values))
    elif fault == "deep":  # nesting near the limit of 64, on either side
        params["deep"] = nested(draw(st.integers(55, 70)))
    elif fault == "extra":
        message[draw(st.sampled_from(("result", "error", "extra")))] = draw(json_values)


@st.composite
def messages(draw: st.DrawFn, era: str) -> Any:
    """Valid JSON-RPC of the era with, often, one thing wrong (``FAULTS``)."""
    method = draw(st.sampled_from(METHODS))
    params = draw(params_for(method))
    if era == "modern":
        params["_meta"] = good_meta()
        if method == "tools/call" and draw(st.booleans()):
            params["_meta"]["progressToken"] = draw(st.one_of(st.integers(), st.text(max_size=8)))
        if draw(st.booleans()):
            params["_meta"]["io.modelcontextprotocol/logLevel"] = draw(st.sampled_from(("debug", "error")))
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": draw(st.integers(0, 2**31)), "method": method, "params": params}
    if method.startswith("notifications/"):
        del message["id"]
    for fault in draw(st.lists(st.sampled_from(FAULTS), min_size=1, max_size=2)):  # one or two things wrong
        mutate(draw, message, params, fault)
    if draw(st.integers(0, 19)) == 0:  # a response, as a client sends to answer the server
        message = {"jsonrpc": "2.0", "id": draw(st.one_of(ids, st.just("edgemcp-x"))),
                   draw(st.sampled_from(("result", "error"))): draw(json_values)}
    return message


def nested(depth: int) -> Any:
    value: Any = "bottom"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


@st.composite
def bodies(draw: st.DrawFn, era: str) -> bytes:
    kind = draw(st.integers(0, 19))
    if kind == 0:
        return draw(st.binary(max_size=200))  # garbage
    if kind == 1:
        return draw(st.text(max_size=100)).encode("utf-8", "surrogatepass")
    if kind == 2:
        return json.dumps(draw(st.lists(messages(era), max_size=3))).encode()  # a batch
    return json.dumps(draw(messages(era)), ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")


header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=40)
HEADER_FAULTS = ("none",) * 6 + ("host", "origin", "content-type", "accept", "version", "method", "name", "session",
                                 "twice", "noise")


@st.composite
def requests(draw: st.DrawFn, sessions: list[str]) -> tuple[str, list[tuple[bytes, bytes]], bytes]:
    """A request of either era with the headers it needs, often with one header wrong."""
    era = draw(st.sampled_from(("modern", "handshake")))
    body = draw(bodies(era))
    try:
        message = json.loads(body)
    except ValueError:
        message = None
    method = draw(st.sampled_from(("POST",) * 12 + ("GET", "DELETE", "PUT")))
    headers: dict[str, str] = {"host": "localhost", "content-type": "application/json", "accept": ACCEPT}
    sent_method = message.get("method") if isinstance(message, dict) else None
    params = message.get("params") if isinstance(message, dict) else None
    name = params.get("name", params.get("uri")) if isinstance(params, dict) else None
    if era == "modern":
        headers["mcp-protocol-version"] = MODERN
        if isinstance(sent_method, str):
            headers["mcp-method"] = sent_method
        if isinstance(name, str):
            headers["mcp-name"] = name
    else:  # a DELETE ends the session: not one of the shared ones
        headers["mcp-session-id"] = draw(st.sampled_from(sessions)) if method != "DELETE" else draw(header_text)
        if draw(st.booleans()):
            headers["mcp-protocol-version"] = draw(st.sampled_from(("2025-11-25", "2025-06-18", "2024-11-05")))
        if method == "GET":
            headers["accept"] = "text/event-stream"
    fault = draw(st.sampled_from(HEADER_FAULTS))
    if fault == "host":
        headers["host"] = draw(st.one_of(st.just("evil.example"), header_text))
    elif fault == "origin":
        headers["origin"] = draw(st.one_of(st.just("http://localhost:3000"), st.just("https://evil.example"), header_text))
    elif fault == "content-type":
        headers["content-type"] = draw(st.one_of(st.just("text/plain"), header_text))
    elif fault == "accept":
        headers["accept"] = draw(st.one_of(st.just("application/json"), header_text))
    elif fault == "version":
        headers["mcp-protocol-version"] = draw(st.one_of(st.sampled_from(SUPPORTED_VERSIONS), header_text))
    elif fault == "method":
        headers["mcp-method"] = draw(header_text)
    elif fault == "name":
        headers["mcp-name"] = draw(st.one_of(header_text, st.just("=?base64?ZWNobw==?="), st.just("=?base64?!!?=")))
    elif fault == "session":
        headers["mcp-session-id"] = draw(header_text)
    elif fault == "noise":
        for optional in ("last-event-id", "cache-control", "idempotency-key", "mcp-param-x", "forwarded",
                         "x-forwarded-host"):
            if draw(st.booleans()):
                headers[optional] = draw(header_text)
    # Header values as a client may send them: UTF-8 bytes (the server reads latin-1).
    raw = [(k.encode("latin-1"), v.encode("utf-8", "surrogatepass")) for k, v in headers.items()]
    if fault == "twice":  # a protocol header twice
        raw.append((b"mcp-protocol-version", MODERN.encode()))
    return method, raw, body


# ----- what a valid answer is ---------------------------------------------------------------------


def check_response(message: Any, status: int) -> None:
    assert isinstance(message, dict) and message.get("jsonrpc") == "2.0", message
    assert "id" in message and (message["id"] is None or type(message["id"]) in (str, int)), message
    assert ("result" in message) != ("error" in message), message
    if "result" in message:
        assert status == 200, (status, message)
        assert isinstance(message["result"], dict)
        return
    error = message["error"]
    assert isinstance(error, dict) and isinstance(error.get("code"), int) and isinstance(error.get("message"), str)
    assert error["code"] in STATUSES, f"undocumented error code {error['code']}: {message}"
    assert status in STATUSES[error["code"]], (status, message)


def check_stream(text: str) -> None:
    for block in text.replace("\r\n", "\n").split("\n\n"):
        data = [line[5:].strip() for line in block.split("\n") if line.startswith("data:")]
        if data and data[0]:
            message = json.loads("\n".join(data))
            assert isinstance(message, dict) and message.get("jsonrpc") == "2.0", message
            if "id" in message and "method" not in message:
                check_response(message, 200)


async def send(harness: Harness, method: str, headers: list[tuple[bytes, bytes]], body: bytes
               ) -> tuple[int, dict[str, str], bytes]:
    response = await harness.driver.request(method, "/mcp", headers, body)
    chunks: list[bytes] = []
    try:
        async with asyncio.timeout(0.2):  # a stream that stays open (listen, GET) is read for a while
            async for chunk in response.chunks():
                chunks.append(chunk)
    except TimeoutError:
        assert response.headers.get("content-type") == "text/event-stream", "a JSON answer that never ends"
    finally:
        response.close()
    return response.status, response.headers, b"".join(chunks)


@SETTINGS
@given(data=st.data())
def test_every_answer_is_valid(harness: Harness, data: st.DataObject) -> None:
    method, headers, body = data.draw(requests(harness.sessions))
    try:
        sent = json.loads(body)
    except ValueError:
        sent = None
    status, response_headers, payload = harness.run(send(harness, method, headers, body))
    event(f"{method} {status}")
    assert status < 500, (status, payload)
    if status in (202, 204) or (method == "DELETE" and status == 200 and not payload):
        assert payload == b""
        return
    kind = response_headers.get("content-type", "")
    if kind == "text/event-stream":
        assert status == 200
        check_stream(payload.decode())
        return
    assert kind == "application/json", (status, response_headers, payload)
    answer = json.loads(payload)
    check_response(answer, status)
    # The answer names the request it answers, unless HTTP refused it before reading it,
    # or the body was refused before parsing (too deep: its id is not known).
    request_id = sent.get("id") if isinstance(sent, dict) and "method" in sent else None
    if "nested deeper" in str(answer.get("error", {}).get("message")):
        request_id = None
    if method == "POST" and isinstance(request_id, str | int) and not isinstance(request_id, bool) \
            and status not in BEFORE_BODY:
        assert answer["id"] == request_id, (status, sent, answer)


def test_integers_beyond_64_bits_stay_exact(harness: Harness) -> None:
    """Found by the fuzzer: orjson turned an integer beyond 64 bits into a float, so an id
    of -2**63 - 1 was refused as "not an integer" and a tool's int argument silently lost
    its last digits; parsed exactly, such an integer then broke msgpack (64 bits at most)
    when a result was cached or a session kept it: a 500."""
    big = 123456789012345678901234567890
    body = json.dumps({"jsonrpc": "2.0", "id": -(2**63) - 1, "method": "tools/call",
                       "params": {"name": "add", "arguments": {"a": big, "b": 1}, "_meta": {
                           "io.modelcontextprotocol/protocolVersion": MODERN,
                           "io.modelcontextprotocol/clientCapabilities": {}}}}).encode()
    headers = [(b"host", b"localhost"), (b"content-type", b"application/json"), (b"accept", ACCEPT.encode()),
               (b"mcp-protocol-version", MODERN.encode()), (b"mcp-method", b"tools/call"), (b"mcp-name", b"add")]
    status, _, payload = harness.run(send(harness, "POST", headers, body))
    answer = json.loads(payload)
    assert status == 200 and answer["id"] == -(2**63) - 1
    assert answer["result"]["structuredContent"] == {"result": big + 1}
    # Cached (the tool caches its results): the store keeps it exact too.
    status, _, payload = harness.run(send(harness, "POST", headers, body))
    again = json.loads(payload)["result"]
    assert again["structuredContent"] == {"result": big + 1} and again["_meta"]["dev.edgemcp/cache"] == "hit"
