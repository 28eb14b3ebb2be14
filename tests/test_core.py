"""The protocol core as a pure function: a JSON-RPC request and a RequestInfo in, a response
out, with notifications and client requests going only through the Channel it is given and
everything else through the Services it is given (here in memory: no store, no guards)."""

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from edgemcp import Context, EdgeMCP, ToolResult, image, text
from edgemcp.http.wire import status_of
from edgemcp.protocol import Dispatcher, RequestInfo, ToolCall
from edgemcp.protocol.errors import invalid_params
from edgemcp.protocol.task_policy import task_not_found
from edgemcp.registry import Tool


@dataclass
class InMemoryServices:
    """The core's Services with nothing behind them: every tool visible, every call run at
    once, request state "sealed" as plain JSON (fine in a test: nothing crosses a trust
    boundary here)."""

    app: EdgeMCP
    calls: list[str] = field(default_factory=list)

    async def list_tools(self, info: RequestInfo) -> Sequence[Tool]:
        return list(self.app.registry.local_tools)

    async def get_tool(self, name: str) -> Tool | None:
        return self.app.registry.local_tools.get(name)

    async def call_tool(self, call: ToolCall[Tool], run: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
        self.calls.append(call.tool.name)
        return await run()

    def seal_state(self, principal: str, digest: str, answers: dict[str, Any], state: dict[str, Any]) -> str:
        return json.dumps([principal, digest, answers, state])

    async def get_task(self, task_id: str, info: RequestInfo) -> dict[str, Any]:
        raise task_not_found()  # no tasks here: the core's task methods only ask

    async def update_task(self, task_id: str, responses: dict[str, Any], info: RequestInfo) -> None:
        raise task_not_found()

    async def cancel_task(self, task_id: str, info: RequestInfo) -> None:
        raise task_not_found()

    def open_state(self, token: object, principal: str, digest: str) -> tuple[dict[str, Any], dict[str, Any]]:
        sealed = json.loads(str(token))
        if sealed[:2] != [principal, digest]:
            raise invalid_params("requestState belongs to another request")
        return sealed[2], sealed[3]


@dataclass
class RecordingChannel:
    """A Channel that records what the core emits and answers client requests from a script."""

    answers: dict[str, dict[str, Any]]
    notes: list[tuple[str, dict[str, Any]]]

    async def notify(self, method: str, params: dict[str, Any]) -> None:
        self.notes.append((method, params))

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        return self.answers[method]

    def on_cancel(self, callback: Callable[[], object]) -> None:
        pass  # nothing cancels a call here


class Point(TypedDict):
    x: int
    y: int


def build() -> EdgeMCP:
    app = EdgeMCP("core-test", version="9", secret="k")

    @app.tool()
    def point(x: int, y: int = 0) -> Point:
        return {"x": x, "y": y}

    @app.tool()
    def picture() -> dict[str, Any]:
        return image(b"\x89PNG")

    @app.tool()
    def custom() -> ToolResult:
        return ToolResult(content=[text("a")], structured={"k": 1}, meta={"m": True})

    @app.tool()
    def nothing() -> None:
        return None

    @app.tool()
    async def asks(ctx: Context) -> str:
        await ctx.progress(1, 2)
        await ctx.log("warning", "careful")
        answer = await ctx.sample("hi", max_tokens=5)
        return answer["content"]["text"]

    return app


class Core:
    """An app's dispatcher and in-memory services."""

    def __init__(self, app: EdgeMCP) -> None:
        self.dispatcher = Dispatcher(app.registry)
        self.services = InMemoryServices(app)


async def call(core: Core, info: RequestInfo, method: str, params: dict[str, Any],
               channel: RecordingChannel | None = None) -> tuple[dict[str, Any], int]:
    channel = channel or RecordingChannel({}, [])
    reply = await core.dispatcher.handle(
        {"jsonrpc": "2.0", "id": 3, "method": method, "params": params}, info, core.services, channel)
    return reply.response, 200 if reply.error is None else status_of(reply.error)


HANDSHAKE = RequestInfo("handshake", "2025-11-25", {"sampling": {}}, None, "warning")


async def test_typed_return_gives_structured_content() -> None:
    core = Core(build())
    response, status = await call(core, HANDSHAKE, "tools/call", {"name": "point", "arguments": {"x": 2}})
    assert status == 200
    assert response["result"]["structuredContent"] == {"x": 2, "y": 0}
    tools = {t["name"]: t for t in (await call(core, HANDSHAKE, "tools/list", {}))[0]["result"]["tools"]}
    assert tools["point"]["outputSchema"]["required"] == ["x", "y"]
    assert "outputSchema" not in tools["picture"]


@pytest.mark.parametrize(
    ("tool", "expected"),
    [
        ("picture", {"content": [{"type": "image", "data": "iVBORw==", "mimeType": "image/png"}]}),
        ("custom", {"content": [{"type": "text", "text": "a"}], "structuredContent": {"k": 1}, "_meta": {"m": True}}),
        ("nothing", {"content": []}),
    ],
)
async def test_content_returns(tool: str, expected: dict[str, Any]) -> None:
    response, _ = await call(Core(build()), HANDSHAKE, "tools/call", {"name": tool})
    assert response["result"] == expected


async def test_handshake_input_goes_through_the_channel() -> None:
    channel = RecordingChannel({"sampling/createMessage": {"content": {"type": "text", "text": "yo"}}}, [])
    response, _ = await call(Core(build()), HANDSHAKE, "tools/call", {"name": "asks"}, channel)
    assert response["result"]["content"][0]["text"] == "yo"
    # No progress token was sent, so only the warning (at the session's level) went out.
    assert channel.notes == [("notifications/message", {"level": "warning", "data": "careful"})]


async def test_modern_input_becomes_input_required() -> None:
    info = RequestInfo("modern", "2026-07-28", {"sampling": {}}, None, None)
    response, _ = await call(Core(build()), info, "tools/call",
                             {"name": "asks", "_meta": {"progressToken": 4}})
    result = response["result"]
    assert result["resultType"] == "input_required"
    assert result["inputRequests"]["sampling-1"]["method"] == "sampling/createMessage"
    assert isinstance(result["requestState"], str)


async def test_method_era_rules() -> None:
    core = Core(build())
    modern = RequestInfo("modern", "2026-07-28")
    assert (await call(core, modern, "ping", {}))[0]["error"]["code"] == -32601
    assert (await call(core, modern, "ping", {}))[1] == 404
    assert (await call(core, HANDSHAKE, "ping", {}))[0]["result"] == {}
    assert (await call(core, HANDSHAKE, "server/discover", {}))[0]["error"]["code"] == -32601


async def test_initialize_negotiates() -> None:
    core = Core(build())
    result = (await call(core, HANDSHAKE, "initialize", {"protocolVersion": "2025-03-26"}))[0]["result"]
    assert result["protocolVersion"] == "2025-03-26"
    assert result["serverInfo"] == {"name": "core-test", "version": "9"}
    assert result["capabilities"]["tools"] == {}


def test_bad_names_and_schemas_are_refused_at_registration() -> None:
    app = EdgeMCP("x")
    with pytest.raises(ValueError, match="1-128"):
        app.tool(name="has space")(lambda: "x")
    with pytest.raises(ValueError, match="type 'object'"):
        app.tool(name="t", input_schema={"type": "string"})(lambda: "x")
    with pytest.raises(ValueError, match="placement"):
        app.tool(name="u", placement="moon")(lambda: "x")  # type: ignore[arg-type]
