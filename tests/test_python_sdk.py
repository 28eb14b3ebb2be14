"""End to end with the official Python SDK client (``mcp`` 2.3.0).

Nothing here is mocked: the real SDK client talks over real HTTP to
examples/conformance_server.py served by a real uvicorn (the ``conformance_server``
fixture), in both protocol eras:

- handshake era: ``streamable_http_client`` + ``ClientSession`` (initialize, Mcp-Session-Id,
  SSE, server-to-client sampling / elicitation / roots answered by the SDK's callbacks, and
  a DELETE that ends the session);
- 2026-07-28: ``Client(url, mode="auto")``, which probes ``server/discover`` and must stay
  modern, with the SDK's own MRTR loop answering ``input_required`` results by retrying
  with ``inputResponses`` and the sealed ``requestState``.

An ``httpx2`` client with event hooks records every HTTP exchange, so the tests can also
check what crossed the wire (era, headers, MRTR retries), not only what the SDK returned.
"""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import httpx2
import mcp.types as types
import pytest
from mcp import Client, ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError as SDKError
from pydantic import FileUrl

from .conftest import Server

SIMPLE_TEXT = "This is a simple text response for testing."
STATIC_TEXT = "This is the content of the static text resource."
TOOL_LOG = ["Tool execution started", "Tool processing data", "Tool execution completed"]
MODERN = "2026-07-28"

# The handshake era's logging/setLevel is deprecated in the SDK, but it is how that era works.
pytestmark = pytest.mark.filterwarnings("ignore:The logging capability is deprecated")


# ----- the client side: callbacks that answer the server, and a wire recorder ------------


@dataclass
class Answers:
    """The SDK callbacks a client installs, recording what the server asked."""

    sampled: list[types.CreateMessageRequestParams] = field(default_factory=list)
    elicited: list[types.ElicitRequestParams] = field(default_factory=list)
    roots_listed: int = 0

    async def sample(self, context: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        self.sampled.append(params)
        question = params.messages[0].content
        asked = question.text if isinstance(question, types.TextContent) else "?"
        return types.CreateMessageResult(role="assistant", model="test-model", stop_reason="endTurn",
                                         content=types.TextContent(type="text", text=f"answer to {asked}"))

    async def elicit(self, context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.elicited.append(params)
        message = params.message
        if "favorite color" in message:
            return types.ElicitResult(action="accept", content={"color": "teal"})
        if "context" in message:
            return types.ElicitResult(action="accept", content={"context": "from the SDK"})
        if "confirm" in message:
            return types.ElicitResult(action="accept", content={"ok": True})
        if "name" in message:
            return types.ElicitResult(action="accept", content={"name": "Ada"})
        return types.ElicitResult(action="accept", content={"username": "py-user", "email": "py@example.com"})

    async def list_roots(self, context: Any) -> types.ListRootsResult:
        self.roots_listed += 1
        return types.ListRootsResult(roots=[types.Root(uri=FileUrl("file:///work/project"), name="project")])


@dataclass
class Exchange:
    request: httpx2.Request
    method: str
    body: dict[str, Any] | None
    request_headers: dict[str, str]
    status: int = 0
    response_headers: dict[str, str] = field(default_factory=dict)


class Wire:
    """An httpx2 client for the SDK transport that records each request and its status."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []
        self.client = httpx2.AsyncClient(
            timeout=httpx2.Timeout(30.0, read=300.0),
            event_hooks={"request": [self._request], "response": [self._response]},
        )

    async def _request(self, request: httpx2.Request) -> None:
        body = json.loads(request.content) if request.content else None
        self.exchanges.append(Exchange(request, request.method, body, dict(request.headers)))

    async def _response(self, response: httpx2.Response) -> None:
        for exchange in self.exchanges:
            if exchange.request is response.request:
                exchange.status = response.status_code
                exchange.response_headers = dict(response.headers)

    def posts(self, method: str) -> list[dict[str, Any]]:
        """Bodies of the POSTed JSON-RPC requests for ``method``."""
        return [e.body for e in self.exchanges
                if e.method == "POST" and e.body is not None and e.body.get("method") == method]


@asynccontextmanager
async def handshake_session(url: str, answers: Answers | None = None, wire: Wire | None = None,
                            **callbacks: Any) -> AsyncIterator[ClientSession]:
    """An initialized handshake-era ``ClientSession`` over the SDK's streamable HTTP transport."""
    if answers is not None:
        callbacks |= {"sampling_callback": answers.sample, "elicitation_callback": answers.elicit,
                      "list_roots_callback": answers.list_roots}
    http_client = wire.client if wire is not None else None
    async with (
        streamable_http_client(url, http_client=http_client) as (read, write),
        ClientSession(read, write, **callbacks) as session,
    ):
        await session.initialize()
        yield session


def modern_client(url: str, answers: Answers | None = None, **options: Any) -> Client:
    if answers is not None:
        options |= {"sampling_callback": answers.sample, "elicitation_callback": answers.elicit,
                    "list_roots_callback": answers.list_roots}
    return Client(url, mode="auto", **options)


def texts(result: types.CallToolResult) -> list[str]:
    return [block.text for block in result.content if isinstance(block, types.TextContent)]


def only_text(contents: list[Any]) -> str:
    assert len(contents) == 1
    content = contents[0]
    assert isinstance(content, types.TextResourceContents | types.TextContent)
    return content.text


# ----- handshake era: ClientSession -------------------------------------------------------


async def test_handshake_initialize_and_list_tools(conformance_server: Server) -> None:
    async with streamable_http_client(conformance_server.url) as (read, write), \
            ClientSession(read, write) as session:
        init = await session.initialize()
        assert init.protocol_version == "2025-11-25"
        assert session.protocol_version == "2025-11-25"
        assert init.server_info.name == "edgemcp-conformance"
        assert init.server_info.version == "0.1.0"
        assert init.instructions == "Fixtures for the official MCP conformance suite."
        caps = init.capabilities
        assert caps.tools is not None and caps.prompts is not None
        assert caps.resources is not None and caps.resources.subscribe is True
        assert caps.completions is not None and caps.logging is not None

        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        assert {"test_simple_text", "test_sampling", "test_elicitation",
                "test_tool_with_logging", "test_tool_with_progress"} <= tools.keys()
        sampling_schema = tools["test_sampling"].input_schema
        assert sampling_schema["properties"]["prompt"]["type"] == "string"
        assert sampling_schema["required"] == ["prompt"]
        assert tools["test_simple_text"].annotations is not None
        assert tools["test_simple_text"].annotations.read_only_hint is True


async def test_handshake_simple_text(conformance_server: Server) -> None:
    async with handshake_session(conformance_server.url) as session:
        result = await session.call_tool("test_simple_text", {})
        assert result.is_error is not True
        assert texts(result) == [SIMPLE_TEXT]


async def test_handshake_invalid_arguments_are_tool_errors(conformance_server: Server) -> None:
    answers = Answers()
    async with handshake_session(conformance_server.url, answers) as session:
        missing = await session.call_tool("test_sampling", {})
        assert missing.is_error is True
        assert texts(missing) == ["Invalid arguments: prompt: Field required"]

        wrong_type = await session.call_tool("test_sampling", {"prompt": 42})
        assert wrong_type.is_error is True
        assert texts(wrong_type) == ["Invalid arguments: prompt: Input should be a valid string"]

        failing = await session.call_tool("test_error_handling", {})
        assert failing.is_error is True
        assert texts(failing) == ["This tool intentionally returns an error for testing"]
    assert answers.sampled == []  # the tool never ran


async def test_handshake_unknown_tool_is_invalid_params(conformance_server: Server) -> None:
    async with handshake_session(conformance_server.url) as session:
        with pytest.raises(SDKError) as unknown:
            await session.call_tool("no_such_tool", {})
        assert unknown.value.code == -32602
        assert unknown.value.message == "Unknown tool: no_such_tool"


async def test_handshake_resources(conformance_server: Server) -> None:
    async with handshake_session(conformance_server.url) as session:
        listed = {str(r.uri): r for r in (await session.list_resources()).resources}
        assert listed["test://static-text"].mime_type == "text/plain"
        templates = [t.uri_template for t in (await session.list_resource_templates()).resource_templates]
        assert templates == ["test://template/{id}/data"]

        static = await session.read_resource("test://static-text")
        assert only_text(static.contents) == STATIC_TEXT
        assert static.contents[0].mime_type == "text/plain"

        templated = await session.read_resource("test://template/42/data")
        assert json.loads(only_text(templated.contents)) == {
            "id": "42", "templateTest": True, "data": "Data for ID: 42"}

        with pytest.raises(SDKError) as missing:
            await session.read_resource("test://nowhere")
        assert missing.value.code == -32002  # the handshake era's "resource not found"


async def test_handshake_prompts_and_completion(conformance_server: Server) -> None:
    async with handshake_session(conformance_server.url) as session:
        prompts = {p.name: p for p in (await session.list_prompts()).prompts}
        arguments = prompts["test_prompt_with_arguments"].arguments or []
        assert [(a.name, a.required) for a in arguments] == [("arg1", True), ("arg2", True)]

        prompt = await session.get_prompt("test_prompt_with_arguments", {"arg1": "x", "arg2": "y"})
        assert len(prompt.messages) == 1
        assert prompt.messages[0].role == "user"
        assert only_text([prompt.messages[0].content]) == "Prompt with arguments: arg1='x', arg2='y'"

        reference = types.PromptReference(type="ref/prompt", name="test_prompt_with_arguments")
        first = await session.complete(reference, {"name": "arg1", "value": "pa"})
        assert first.completion.values == ["paris", "park", "party"]
        assert first.completion.total == 3
        second = await session.complete(reference, {"name": "arg2", "value": "b"})
        assert second.completion.values == ["beta"]


async def test_handshake_logging(conformance_server: Server) -> None:
    logs: list[tuple[str, Any]] = []

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        logs.append((params.level, params.data))

    async with handshake_session(conformance_server.url, logging_callback=on_log) as session:
        result = await session.call_tool("test_tool_with_logging", {})
        assert texts(result) == ["Tool with logging executed successfully"]
        assert logs == []  # no level set yet: the server sends nothing

        await session.set_logging_level("info")
        await session.call_tool("test_tool_with_logging", {})
        assert logs == [("info", message) for message in TOOL_LOG]

        logs.clear()
        await session.set_logging_level("warning")
        await session.call_tool("test_logging_tool", {})
        assert logs == [("warning", "warning message")]


async def test_handshake_progress(conformance_server: Server) -> None:
    reported: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reported.append((progress, total, message))

    async with handshake_session(conformance_server.url) as session:
        await session.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
    assert reported == [(step, 100, f"Completed step {step} of 100") for step in (0, 50, 100)]


async def test_handshake_sampling_round_trip(conformance_server: Server) -> None:
    answers = Answers()
    async with handshake_session(conformance_server.url, answers) as session:
        result = await session.call_tool("test_sampling", {"prompt": "What is 2+2?"})
    assert texts(result) == ["LLM response: answer to What is 2+2?"]
    assert len(answers.sampled) == 1
    assert answers.sampled[0].max_tokens == 100


async def test_handshake_elicitation_round_trip(conformance_server: Server) -> None:
    answers = Answers()
    async with handshake_session(conformance_server.url, answers) as session:
        result = await session.call_tool("test_elicitation", {"message": "Who are you?"})
    assert texts(result) == [
        "User response: action=accept, content={'username': 'py-user', 'email': 'py@example.com'}"]
    assert [params.message for params in answers.elicited] == ["Who are you?"]
    schema = answers.elicited[0].requested_schema  # type: ignore[union-attr]
    assert schema["required"] == ["username", "email"]


async def test_handshake_roots_and_several_inputs(conformance_server: Server) -> None:
    answers = Answers()
    async with handshake_session(conformance_server.url, answers) as session:
        roots = await session.call_tool("test_input_required_result_list_roots", {})
        assert texts(roots) == ["Roots: file:///work/project"]
        several = await session.call_tool("test_input_required_result_multiple_inputs", {})
        assert texts(several) == ["name=Ada; greeting=answer to Generate a greeting; roots=1"]
    assert answers.roots_listed == 2


async def test_handshake_session_termination(conformance_server: Server) -> None:
    wire = Wire()
    async with wire.client:
        async with handshake_session(conformance_server.url, wire=wire) as session:
            assert texts(await session.call_tool("test_simple_text", {})) == [SIMPLE_TEXT]
        initialize = wire.exchanges[0]
        assert initialize.body is not None and initialize.body["method"] == "initialize"
        session_id = initialize.response_headers["mcp-session-id"]
        deletes = [e for e in wire.exchanges if e.method == "DELETE"]
        assert len(deletes) == 1
        assert deletes[0].request_headers["mcp-session-id"] == session_id
        assert deletes[0].status == 200

    # The session is gone: the server answers its id with 404.
    async with httpx.AsyncClient() as http:
        after = await http.post(conformance_server.url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                                headers={"accept": "application/json, text/event-stream",
                                         "mcp-session-id": session_id,
                                         "mcp-protocol-version": "2025-11-25"})
    assert after.status_code == 404


# ----- 2026-07-28: Client(mode="auto") and MRTR ----------------------------------------


async def test_modern_client_negotiates_2026_07_28(conformance_server: Server) -> None:
    wire = Wire()
    async with wire.client:
        transport = streamable_http_client(conformance_server.url, http_client=wire.client)
        async with Client(transport, mode="auto") as client:
            # The probe found a modern server: no silent fallback to the handshake.
            assert client.protocol_version == MODERN
            assert client.session.discover_result is not None
            assert client.session.initialize_result is None
            assert MODERN in client.session.discover_result.supported_versions
            assert client.server_info is not None and client.server_info.name == "edgemcp-conformance"
            assert client.instructions == "Fixtures for the official MCP conformance suite."
            assert texts(await client.call_tool("test_simple_text", {})) == [SIMPLE_TEXT]

    posts = [e for e in wire.exchanges if e.method == "POST"]
    assert posts[0].body is not None and posts[0].body["method"] == "server/discover"
    assert wire.posts("initialize") == []
    assert all(e.request_headers.get("mcp-protocol-version") == MODERN for e in posts)
    assert all("mcp-session-id" not in e.response_headers for e in wire.exchanges)
    call = wire.posts("tools/call")[0]
    assert call["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] == MODERN


async def test_modern_tools(conformance_server: Server) -> None:
    async with modern_client(conformance_server.url) as client:
        assert client.protocol_version == MODERN
        listed = await client.list_tools()
        names = {tool.name for tool in listed.tools}
        assert {"test_simple_text", "test_input_required_result_multi_round"} <= names
        assert texts(await client.call_tool("test_simple_text", {})) == [SIMPLE_TEXT]

        invalid = await client.call_tool("test_sampling", {})
        assert invalid.is_error is True
        assert texts(invalid) == ["Invalid arguments: prompt: Field required"]

        with pytest.raises(SDKError) as unknown:
            await client.call_tool("no_such_tool", {})
        assert unknown.value.code == -32602


async def test_modern_resources(conformance_server: Server) -> None:
    async with modern_client(conformance_server.url) as client:
        assert client.protocol_version == MODERN
        static = await client.read_resource("test://static-text")
        assert only_text(static.contents) == STATIC_TEXT
        templated = await client.read_resource("test://template/7/data")
        assert json.loads(only_text(templated.contents)) == {
            "id": "7", "templateTest": True, "data": "Data for ID: 7"}


async def test_modern_prompts_and_completion(conformance_server: Server) -> None:
    async with modern_client(conformance_server.url) as client:
        assert client.protocol_version == MODERN
        simple = await client.get_prompt("test_simple_prompt")
        assert only_text([simple.messages[0].content]) == "This is a simple prompt for testing."
        with_args = await client.get_prompt("test_prompt_with_arguments", {"arg1": "a", "arg2": "b"})
        assert only_text([with_args.messages[0].content]) == "Prompt with arguments: arg1='a', arg2='b'"
        reference = types.PromptReference(type="ref/prompt", name="test_prompt_with_arguments")
        completion = await client.complete(reference, {"name": "arg1", "value": "par"})
        assert completion.completion.values == ["paris", "park", "party"]


async def test_modern_logging_and_progress(conformance_server: Server) -> None:
    logs: list[tuple[str, Any]] = []
    reported: list[tuple[float, float | None, str | None]] = []

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        logs.append((params.level, params.data))

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reported.append((progress, total, message))

    async with modern_client(conformance_server.url, logging_callback=on_log, log_level="info") as client:
        assert client.protocol_version == MODERN
        await client.call_tool("test_tool_with_logging", {})
        assert logs == [("info", message) for message in TOOL_LOG]
        await client.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
        assert reported == [(step, 100, f"Completed step {step} of 100") for step in (0, 50, 100)]


async def test_modern_mrtr_elicitation(conformance_server: Server) -> None:
    answers = Answers()
    async with modern_client(conformance_server.url, answers) as client:
        assert client.protocol_version == MODERN
        result = await client.call_tool("test_input_required_result_elicitation", {})
    assert texts(result) == ["Hello, Ada!"]
    assert [params.message for params in answers.elicited] == ["What is your name?"]


async def test_modern_mrtr_sampling(conformance_server: Server) -> None:
    answers = Answers()
    async with modern_client(conformance_server.url, answers) as client:
        assert client.protocol_version == MODERN
        result = await client.call_tool("test_input_required_result_sampling", {})
    assert texts(result) == ["LLM said: answer to What is the capital of France?"]
    assert len(answers.sampled) == 1 and answers.sampled[0].max_tokens == 100


async def test_modern_mrtr_multi_round_carries_request_state(conformance_server: Server) -> None:
    answers = Answers()
    wire = Wire()
    async with wire.client:
        transport = streamable_http_client(conformance_server.url, http_client=wire.client)
        async with Client(transport, mode="auto", elicitation_callback=answers.elicit) as client:
            assert client.protocol_version == MODERN
            result = await client.call_tool("test_input_required_result_multi_round", {})
    # The name from round one reaches round three only through the sealed requestState.
    assert texts(result) == ["Ada likes teal"]
    assert [p.message for p in answers.elicited] == [
        "Step 1: What is your name?", "Step 2: What is your favorite color?"]

    rounds = [body["params"] for body in wire.posts("tools/call")]
    assert len(rounds) == 3
    assert "inputResponses" not in rounds[0] and "requestState" not in rounds[0]
    assert rounds[1]["inputResponses"] == {"step1": {"action": "accept", "content": {"name": "Ada"}}}
    assert rounds[2]["inputResponses"] == {"step2": {"action": "accept", "content": {"color": "teal"}}}
    assert isinstance(rounds[1]["requestState"], str) and isinstance(rounds[2]["requestState"], str)
    assert rounds[1]["requestState"] != rounds[2]["requestState"]


async def test_modern_mrtr_state_roots_several_inputs_and_prompt(conformance_server: Server) -> None:
    answers = Answers()
    async with modern_client(conformance_server.url, answers) as client:
        assert client.protocol_version == MODERN
        state = await client.call_tool("test_input_required_result_request_state", {})
        assert texts(state) == ["state-ok: confirmed=True"]
        roots = await client.call_tool("test_input_required_result_list_roots", {})
        assert texts(roots) == ["Roots: file:///work/project"]
        several = await client.call_tool("test_input_required_result_multiple_inputs", {})
        assert texts(several) == ["name=Ada; greeting=answer to Generate a greeting; roots=1"]
        prompt = await client.get_prompt("test_input_required_result_prompt")
        assert only_text([prompt.messages[0].content]) == "Prompt with context: from the SDK"


async def test_modern_tampered_request_state_is_refused(conformance_server: Server) -> None:
    answers = Answers()
    async with modern_client(conformance_server.url, answers) as client:
        assert client.protocol_version == MODERN
        first = await client.session.call_tool("test_input_required_result_tampered_state", {},
                                               allow_input_required=True)
        assert isinstance(first, types.InputRequiredResult)
        assert list(first.input_requests or {}) == ["confirm"]
        assert first.request_state is not None
        confirm: types.InputResponses = {"confirm": types.ElicitResult(action="accept", content={"ok": True})}

        # One character of the signed payload changed (not the signature's last character,
        # whose low bits base64 ignores).
        state = first.request_state
        tampered = state[:2] + ("B" if state[2] == "A" else "A") + state[3:]
        with pytest.raises(SDKError) as refused:
            await client.session.call_tool("test_input_required_result_tampered_state", {},
                                           input_responses=confirm, request_state=tampered)
        assert refused.value.code == -32602
        assert refused.value.message == "requestState failed verification"

        honest = await client.session.call_tool("test_input_required_result_tampered_state", {},
                                                input_responses=confirm, request_state=first.request_state)
        assert texts(honest) == ["confirmed=True"]
