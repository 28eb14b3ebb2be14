"""End to end with the official Python SDK client (mcp 2.3.0) against examples/conformance_server.py
on a real uvicorn, in both eras:

- handshake era: ``streamable_http_client`` + ``ClientSession`` (initialize, session, SSE,
  server-to-client sampling and elicitation answered by the SDK's callbacks);
- 2026-07-28: ``Client(url, mode="auto")``, which probes ``server/discover`` and stays modern,
  with the SDK's own MRTR loop answering ``input_required`` results.
"""

from typing import Any

import mcp.types as types
import pytest
from mcp import Client, ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError as SDKError

from .conftest import Server


async def sample(context: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
    question = params.messages[0].content
    text = question.text if isinstance(question, types.TextContent) else "?"
    return types.CreateMessageResult(role="assistant", model="test-model", stop_reason="endTurn",
                                     content=types.TextContent(type="text", text=f"answer to {text}"))


async def elicit(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
    message = params.message
    if "color" in message:
        return types.ElicitResult(action="accept", content={"color": "teal"})
    if "username" in str(getattr(params, "requested_schema", "")):
        return types.ElicitResult(action="accept", content={"username": "py-user", "email": "py@example.com"})
    return types.ElicitResult(action="accept", content={"name": "Ada"})


async def list_roots(context: Any) -> types.ListRootsResult:
    return types.ListRootsResult(roots=[types.Root(uri="file:///work/project", name="project")])


def texts(result: types.CallToolResult) -> list[str]:
    return [block.text for block in result.content if isinstance(block, types.TextContent)]


@pytest.mark.filterwarnings("ignore:The logging capability is deprecated")  # still the handshake era's logging
async def test_handshake_era_with_client_session(conformance_server: Server) -> None:
    logs: list[Any] = []
    progress: list[float] = []

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        logs.append(params.data)

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(done)

    async with streamable_http_client(conformance_server.url) as (read, write, *_), ClientSession(
        read, write, sampling_callback=sample, elicitation_callback=elicit, logging_callback=on_log,
    ) as session:
        init = await session.initialize()
        assert init.protocol_version == "2025-11-25"
        assert init.server_info.name == "edgemcp-conformance"

        names = [tool.name for tool in (await session.list_tools()).tools]
        assert "test_simple_text" in names and "test_sampling" in names

        simple = await session.call_tool("test_simple_text", {})
        assert texts(simple) == ["This is a simple text response for testing."]

        failing = await session.call_tool("test_error_handling", {})
        assert failing.is_error is True

        sampled = await session.call_tool("test_sampling", {"prompt": "What is 2+2?"})
        assert texts(sampled) == ["LLM response: answer to What is 2+2?"]

        elicited = await session.call_tool("test_elicitation", {"message": "Who are you?"})
        assert "py@example.com" in texts(elicited)[0]

        await session.set_logging_level("info")
        await session.call_tool("test_tool_with_logging", {})
        assert logs == ["Tool execution started", "Tool processing data", "Tool execution completed"]

        await session.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
        assert progress == [0, 50, 100]

        resource = await session.read_resource("test://template/42/data")
        first = resource.contents[0]
        assert isinstance(first, types.TextResourceContents)
        assert '"id": "42"' in first.text

        prompt = await session.get_prompt("test_prompt_with_arguments", {"arg1": "x", "arg2": "y"})
        content = prompt.messages[0].content
        assert isinstance(content, types.TextContent)
        assert content.text == "Prompt with arguments: arg1='x', arg2='y'"

        completion = await session.complete(
            types.PromptReference(type="ref/prompt", name="test_prompt_with_arguments"),
            {"name": "arg1", "value": "pa"},
        )
        assert completion.completion.values == ["paris", "park", "party"]

        with pytest.raises(SDKError) as unknown:
            await session.call_tool("no_such_tool", {})
        assert unknown.value.error.code == -32602


async def test_modern_era_with_client_auto(conformance_server: Server) -> None:
    async with Client(conformance_server.url, mode="auto", sampling_callback=sample,
                      elicitation_callback=elicit, list_roots_callback=list_roots) as client:
        # The probe found a modern server: no silent fallback to the handshake.
        assert client.protocol_version == "2026-07-28"
        assert client.server_info is not None and client.server_info.name == "edgemcp-conformance"

        names = [tool.name for tool in (await client.list_tools()).tools]
        assert "test_input_required_result_multi_round" in names

        assert texts(await client.call_tool("test_simple_text", {})) == [
            "This is a simple text response for testing."]

        resource = await client.read_resource("test://static-text")
        first = resource.contents[0]
        assert isinstance(first, types.TextResourceContents)
        assert first.text == "This is the content of the static text resource."

        prompt = await client.get_prompt("test_simple_prompt")
        content = prompt.messages[0].content
        assert isinstance(content, types.TextContent)
        assert content.text == "This is a simple prompt for testing."

        # MRTR: the SDK answers input_required with its callbacks and retries.
        assert texts(await client.call_tool("test_input_required_result_elicitation", {})) == ["Hello, Ada!"]
        sampled = await client.call_tool("test_input_required_result_sampling", {})
        assert texts(sampled) == ["LLM said: answer to What is the capital of France?"]
        assert texts(await client.call_tool("test_input_required_result_multi_round", {})) == ["Ada likes teal"]
        roots = await client.call_tool("test_input_required_result_list_roots", {})
        assert texts(roots) == ["Roots: file:///work/project"]
        multi = await client.call_tool("test_input_required_result_multiple_inputs", {})
        assert texts(multi) == ["name=Ada; greeting=answer to Generate a greeting; roots=1"]
