"""``edgemcp.testing.Client``: the in-process test client, in both protocol eras, against
examples/conformance_server.py and examples/guarded_server.py.

No socket may be opened here (``socket.socket`` fails inside every test). A recording
ASGI wrapper shows what crossed the in-process wire: in the handshake era a question to
the client is a real server-to-client request on the call's SSE stream, answered by a
POSTed client reply while the call waits; in 2026-07-28 it is MRTR, the call retried
with ``inputResponses`` and the sealed ``requestState``.
"""

import importlib.util
import json
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from examples.conformance_server import mcp as conformance
from pydantic import BaseModel

from edgemcp import EdgeMCP, MCPError
from edgemcp.testing import Client, ResponseError
from edgemcp.types import Message, Receive, Scope, Send

ROOT = Path(__file__).resolve().parent.parent
ERAS = ["modern", "handshake"]
SAFETY_TIMEOUT = 60.0  # seconds per request: a lost answer fails the test instead of hanging it
SIMPLE_TEXT = "This is a simple text response for testing."


@pytest.fixture(autouse=True)
async def no_sockets(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """Any socket opened during the test fails it (the event loop already has its own)."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a socket was opened")

    monkeypatch.setattr(socket, "socket", refuse)
    yield


class Recorder:
    """An ASGI wrapper that records each POST's JSON body and its response's content type,
    and the lifespan messages the app received."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.posts: list[tuple[Any, str]] = []
        self.lifespan: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            async def lifespan_receive() -> Message:
                message = await receive()
                self.lifespan.append(message["type"])
                return message

            await self.app(scope, lifespan_receive, send)
            return
        entry: list[Any] = [None, ""]

        async def recorded_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request" and message.get("body"):
                entry[0] = json.loads(message["body"])
            return message

        async def recorded_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers") or [])
                entry[1] = headers.get(b"content-type", b"").decode()
                if scope["method"] == "POST":
                    self.posts.append((entry[0], entry[1]))
            await send(message)

        await self.app(scope, recorded_receive, recorded_send)

    def methods(self) -> list[str]:
        return [body.get("method", "reply") for body, _ in self.posts if isinstance(body, dict)]


class Answers:
    """The client's handlers, recording what the server asked."""

    def __init__(self) -> None:
        self.elicited: list[dict[str, Any]] = []
        self.sampled: list[dict[str, Any]] = []
        self.logs: list[dict[str, Any]] = []
        self.progress: list[dict[str, Any]] = []

    async def elicit(self, params: dict[str, Any]) -> dict[str, Any]:
        self.elicited.append(params)
        return {"action": "accept", "content": {"username": "ada", "email": "ada@example.com", "name": "Ada"}}

    def sample(self, params: dict[str, Any]) -> dict[str, Any]:  # a sync handler works too
        self.sampled.append(params)
        return {"role": "assistant", "model": "test-model", "content": {"type": "text", "text": "four"}}

    def client(self, app: Any, era: str, **options: Any) -> Client:
        return Client(app, era=era, elicitation_handler=self.elicit, sampling_handler=self.sample,
                      roots=["file:///work/project"], logging_handler=self.logs.append,
                      progress_handler=self.progress.append, timeout=SAFETY_TIMEOUT, **options)


def text_of(result: dict[str, Any]) -> str:
    [block] = result["content"]
    assert block["type"] == "text"
    return str(block["text"])


async def test_no_socket_may_be_opened() -> None:
    with pytest.raises(AssertionError, match="a socket was opened"):
        socket.socket()


@pytest.mark.parametrize("era", ERAS)
async def test_tools(era: str) -> None:
    async with Client(conformance, era=era) as client:
        assert client.protocol_version == ("2026-07-28" if era == "modern" else "2025-11-25")
        assert client.server_info == {"name": "edgemcp-conformance", "version": "0.1.0"}
        assert (client.session_id is not None) == (era == "handshake")
        names = {tool["name"] for tool in (await client.list_tools())["tools"]}
        assert {"test_simple_text", "test_image_content", "test_elicitation"} <= names

        assert text_of(await client.call_tool("test_simple_text")) == SIMPLE_TEXT
        [image] = (await client.call_tool("test_image_content"))["content"]
        assert image["type"] == "image" and image["mimeType"] == "image/png" and image["data"]
        failed = await client.call_tool("test_error_handling")
        assert failed["isError"] is True
        assert text_of(failed) == "This tool intentionally returns an error for testing"
        assert text_of(await client.call_tool("test_x_mcp_header", {"region": "eu-west"})) == "region=eu-west"

        with pytest.raises(MCPError) as unknown:
            await client.call_tool("no_such_tool", {})
        assert unknown.value.code == -32602
        assert unknown.value.message == "Unknown tool: no_such_tool"


class Forecast(BaseModel):
    city: str
    high_c: float


structured = EdgeMCP("structured")


@structured.tool(read_only=True)
def forecast(city: str) -> Forecast:
    """A typed return: structured content, with its outputSchema."""
    return Forecast(city=city, high_c=21.5)


@pytest.mark.parametrize("era", ERAS)
async def test_structured_content(era: str) -> None:
    async with Client(structured, era=era) as client:
        [tool] = (await client.list_tools())["tools"]
        assert tool["outputSchema"]["properties"]["high_c"]["type"] == "number"
        result = await client.call_tool("forecast", {"city": "Lisbon"})
    assert result["structuredContent"] == {"city": "Lisbon", "high_c": 21.5}
    assert json.loads(text_of(result)) == {"city": "Lisbon", "high_c": 21.5}


@pytest.mark.parametrize("era", ERAS)
async def test_resources(era: str) -> None:
    async with Client(conformance, era=era) as client:
        uris = {resource["uri"] for resource in (await client.list_resources())["resources"]}
        assert {"test://static-text", "test://static-binary"} <= uris
        templates = (await client.list_resource_templates())["resourceTemplates"]
        assert [t["uriTemplate"] for t in templates] == ["test://template/{id}/data"]
        [static] = (await client.read_resource("test://static-text"))["contents"]
        assert static["text"] == "This is the content of the static text resource."
        [templated] = (await client.read_resource("test://template/42/data"))["contents"]
        assert json.loads(templated["text"]) == {"id": "42", "templateTest": True, "data": "Data for ID: 42"}
        with pytest.raises(ResponseError) as missing:
            await client.read_resource("test://nowhere")
    assert missing.value.code == (-32602 if era == "modern" else -32002)


@pytest.mark.parametrize("era", ERAS)
async def test_prompts_and_completion(era: str) -> None:
    async with Client(conformance, era=era) as client:
        names = {prompt["name"] for prompt in (await client.list_prompts())["prompts"]}
        assert {"test_simple_prompt", "test_prompt_with_arguments"} <= names
        prompt = await client.get_prompt("test_prompt_with_arguments", {"arg1": "x", "arg2": "y"})
        [message] = prompt["messages"]
        assert message["role"] == "user"
        assert message["content"]["text"] == "Prompt with arguments: arg1='x', arg2='y'"
        completed = await client.complete({"type": "ref/prompt", "name": "test_prompt_with_arguments"},
                                          {"name": "arg1", "value": "pa"})
    assert completed["completion"]["values"] == ["paris", "park", "party"]


@pytest.mark.parametrize("era", ERAS)
async def test_logging_and_progress_reach_the_handlers(era: str) -> None:
    answers = Answers()
    async with answers.client(conformance, era, log_level="info") as client:
        await client.call_tool("test_tool_with_logging")
        assert answers.logs == [{"level": "info", "data": message} for message in
                                ("Tool execution started", "Tool processing data", "Tool execution completed")]
        answers.logs.clear()
        await client.set_logging_level("warning")
        await client.call_tool("test_logging_tool")
        assert answers.logs == [{"level": "warning", "data": "warning message"}]

        own: list[dict[str, Any]] = []
        await client.call_tool("test_tool_with_progress", progress_handler=own.append)
    assert [(p["progress"], p["total"], p["message"]) for p in own] == [
        (step, 100, f"Completed step {step} of 100") for step in (0, 50, 100)]
    assert answers.progress == []  # the call's own handler took them


@pytest.mark.parametrize("era", ERAS)
async def test_elicitation_and_sampling_answered_by_the_handlers(era: str) -> None:
    answers, app = Answers(), Recorder(conformance)
    async with answers.client(app, era) as client:
        elicited = await client.call_tool("test_elicitation", {"message": "Who are you?"})
        sampled = await client.call_tool("test_sampling", {"prompt": "What is 2+2?"})
        several = await client.call_tool("test_input_required_result_multiple_inputs")
    assert text_of(elicited) == "User response: action=accept, content=" + repr(
        {"username": "ada", "email": "ada@example.com", "name": "Ada"})
    assert text_of(sampled) == "LLM response: four"
    assert text_of(several) == "name=Ada; greeting=four; roots=1"
    assert [e["message"] for e in answers.elicited] == ["Who are you?", "What is your name?"]
    assert answers.elicited[0]["requestedSchema"]["required"] == ["username", "email"]
    assert [s["maxTokens"] for s in answers.sampled] == [100, 50]

    calls = [body for body, _ in app.posts if isinstance(body, dict) and body.get("method") == "tools/call"]
    if era == "handshake":
        # One POST per call; the questions came on its SSE stream and the answers went back
        # as client replies to the server's request ids.
        assert app.methods() == ["initialize", "notifications/initialized", "logging/setLevel",
                                 "tools/call", "reply", "tools/call", "reply", "tools/call", "reply", "reply", "reply"]
        assert [ctype for body, ctype in app.posts if body.get("method") == "tools/call"] == ["text/event-stream"] * 3
        replies = [body for body, _ in app.posts if "method" not in body]
        assert all(str(reply["id"]).startswith("edgemcp-") and "result" in reply for reply in replies)
    else:
        # Each call ends input_required and is sent again with the answers and the state.
        assert [call["params"]["name"] for call in calls] == [
            "test_elicitation", "test_elicitation", "test_sampling", "test_sampling",
            "test_input_required_result_multiple_inputs", "test_input_required_result_multiple_inputs"]
        first, retry = calls[4]["params"], calls[5]["params"]
        assert "inputResponses" not in first
        assert set(retry["inputResponses"]) == {"user_name", "greeting", "client_roots"}
        assert retry["inputResponses"]["client_roots"] == {"roots": [{"uri": "file:///work/project"}]}
        assert isinstance(retry["requestState"], str) and retry["requestState"]
        assert calls[4]["id"] != calls[5]["id"]


@pytest.mark.parametrize("era", ERAS)
async def test_a_handler_that_fails_fails_the_call(era: str) -> None:
    def broken(params: dict[str, Any]) -> dict[str, Any]:
        raise LookupError("no user here")

    async with Client(conformance, era=era, elicitation_handler=broken, timeout=SAFETY_TIMEOUT) as client:
        with pytest.raises(LookupError, match="no user here"):
            await client.call_tool("test_elicitation", {"message": "Who are you?"})
        # The server got an error answer and the client goes on.
        assert text_of(await client.call_tool("test_simple_text")) == SIMPLE_TEXT


@pytest.mark.parametrize("era", ERAS)
async def test_without_a_handler_the_capability_is_missing(era: str) -> None:
    async with Client(conformance, era=era) as client:
        with pytest.raises(ResponseError) as missing:
            await client.call_tool("test_sampling", {"prompt": "hi"})
    assert missing.value.code == -32021
    assert missing.value.data == {"requiredCapabilities": {"sampling": {}}}


async def test_the_lifespan_runs_around_the_client() -> None:
    app = Recorder(conformance)
    async with Client(app) as client:
        assert app.lifespan == ["lifespan.startup"]
        await client.list_tools()
    assert app.lifespan == ["lifespan.startup", "lifespan.shutdown"]


async def test_ping_and_session_end_in_the_handshake_era() -> None:
    app = Recorder(conformance)
    async with Client(app, era="handshake") as client:
        assert await client.ping() == {}
    async with Client(conformance) as modern:
        with pytest.raises(ResponseError) as no_ping:
            await modern.ping()
    assert (no_ping.value.code, no_ping.value.status) == (-32601, 404)


# ----- a guarded app --------------------------------------------------------------------


@pytest.fixture
def guarded(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """A fresh examples/guarded_server.py (its tokens are read from the environment at import)."""
    monkeypatch.setenv("EDGEMCP_TOKENS", "agent-a:token-a,agent-b:token-b")
    spec = importlib.util.spec_from_file_location("guarded_for_client_tests", ROOT / "examples" / "guarded_server.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setitem(sys.modules, "guarded_for_client_tests", module)
    return module


@pytest.mark.parametrize("era", ERAS)
async def test_a_guarded_app_with_and_without_a_token(guarded: ModuleType, era: str) -> None:
    with pytest.raises(ResponseError) as refused:
        async with Client(guarded.app, era=era):
            pass
    assert (refused.value.code, refused.value.status) == (-31401, 401)
    assert (refused.value.challenge or "").startswith("Bearer")

    async with Client(guarded.app, era=era, token="token-a") as agent_a:
        assert text_of(await agent_a.call_tool("echo", {"text": "hi"})) == "hi"
        dry = await agent_a.call_tool("delete_record", {"record_id": "1"}, meta={"dev.edgemcp/dryRun": True})
        assert text_of(dry) == "would delete 1"
    async with Client(guarded.app, era=era, headers={"Authorization": "Bearer token-b"}) as agent_b:
        with pytest.raises(ResponseError) as forbidden:
            await agent_b.call_tool("delete_record", {"record_id": "1"})
    assert (forbidden.value.code, forbidden.value.status) == (-31403, 403)


@pytest.mark.parametrize("era", ERAS)
async def test_an_app_mounted_in_a_host_app(era: str) -> None:
    from examples.fastapi_app import api

    # The host's lifespan starts the mounted app; `path` is where the endpoint is.
    async with Client(api, era=era, path="/tools/mcp") as client:
        names = {tool["name"] for tool in (await client.list_tools())["tools"]}
    assert {"forecast", "book_umbrella"} <= names
