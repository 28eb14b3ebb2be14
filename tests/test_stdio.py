"""``edgemcp stdio module:app`` and ``app.run()``: MCP over stdin/stdout for local clients.

The official Python SDK's stdio client (``mcp`` 2.3.0: ``stdio_client`` +
``ClientSession``) launches ``python -m edgemcp stdio examples.conformance_server:app``
as a real subprocess and speaks the handshake era to it: tools, resources, prompts,
logging, progress, and the server's own requests (elicitation, sampling, roots) answered
by the SDK's callbacks while the call waits. Raw-pipe tests check what the transport
promises: only JSON-RPC lines on stdout (the audit log on stderr), a clean exit at EOF,
and a session the app forgot replaced without the client noticing.
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import mcp.types as types
import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError as SDKError
from pydantic import FileUrl

ROOT = Path(__file__).resolve().parent.parent
SRC = str(ROOT / "src")
TARGET = "examples.conformance_server:app"
SAFETY_TIMEOUT = 60.0  # seconds; a hang guard, not a timing assertion

pytestmark = pytest.mark.filterwarnings("ignore:The logging capability is deprecated")


def environment(**extra: str) -> dict[str, str]:
    """What the server process needs: the worktree's sources first, no secret (stdio makes one)."""
    env = {k: v for k, v in os.environ.items() if k not in ("EDGEMCP_SECRET", "EDGEMCP_STORE")}
    env["PYTHONPATH"] = os.pathsep.join([SRC, str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return {**env, **extra}


def server(*args: str) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=["-m", "edgemcp", "stdio", *args],
                                 env=environment(), cwd=str(ROOT))


class Answers:
    def __init__(self) -> None:
        self.elicited: list[str] = []
        self.sampled: list[str] = []

    async def elicit(self, context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.elicited.append(params.message)
        return types.ElicitResult(action="accept", content={"username": "stdio-user", "email": "s@example.com"})

    async def sample(self, context: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        question = params.messages[0].content
        self.sampled.append(question.text if isinstance(question, types.TextContent) else "?")
        return types.CreateMessageResult(role="assistant", model="stdio-model", stop_reason="endTurn",
                                         content=types.TextContent(type="text", text="four"))

    async def roots(self, context: Any) -> types.ListRootsResult:
        return types.ListRootsResult(roots=[types.Root(uri=FileUrl("file:///work/project"), name="project")])


@asynccontextmanager
async def session(answers: Answers | None = None, **callbacks: Any) -> AsyncIterator[ClientSession]:
    if answers is not None:
        callbacks |= {"elicitation_callback": answers.elicit, "sampling_callback": answers.sample,
                      "list_roots_callback": answers.roots}
    # A bound on each request, so a lost answer fails the test instead of hanging it.
    async with stdio_client(server(TARGET)) as (read, write), \
            ClientSession(read, write, read_timeout_seconds=SAFETY_TIMEOUT, **callbacks) as opened:
        await opened.initialize()
        yield opened


def texts(result: types.CallToolResult) -> list[str]:
    return [block.text for block in result.content if isinstance(block, types.TextContent)]


async def test_sdk_stdio_tools_resources_prompts() -> None:
    async with session() as client:
        assert client.protocol_version == "2025-11-25"
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"test_simple_text", "test_elicitation", "test_sampling"} <= names
        assert texts(await client.call_tool("test_simple_text", {})) == [
            "This is a simple text response for testing."]
        image = await client.call_tool("test_image_content", {})
        assert isinstance(image.content[0], types.ImageContent) and image.content[0].mime_type == "image/png"

        static = await client.read_resource("test://static-text")
        assert isinstance(static.contents[0], types.TextResourceContents)
        assert static.contents[0].text == "This is the content of the static text resource."
        templated = await client.read_resource("test://template/5/data")
        assert isinstance(templated.contents[0], types.TextResourceContents)
        assert json.loads(templated.contents[0].text)["id"] == "5"

        prompt = await client.get_prompt("test_prompt_with_arguments", {"arg1": "a", "arg2": "b"})
        content = prompt.messages[0].content
        assert isinstance(content, types.TextContent)
        assert content.text == "Prompt with arguments: arg1='a', arg2='b'"

        with pytest.raises(SDKError) as unknown:
            await client.call_tool("no_such_tool", {})
        assert unknown.value.code == -32602


async def test_sdk_stdio_logging_and_progress() -> None:
    logs: list[tuple[str, Any]] = []
    reported: list[tuple[float, float | None, str | None]] = []

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        logs.append((params.level, params.data))

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reported.append((progress, total, message))

    async with session(logging_callback=on_log) as client:
        await client.set_logging_level("info")
        await client.call_tool("test_tool_with_logging", {})
        await client.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
    assert logs == [("info", "Tool execution started"), ("info", "Tool processing data"),
                    ("info", "Tool execution completed")]
    assert reported == [(step, 100, f"Completed step {step} of 100") for step in (0, 50, 100)]


async def test_sdk_stdio_elicitation_sampling_and_roots_answered_by_callbacks() -> None:
    answers = Answers()
    async with session(answers) as client:
        elicited = await client.call_tool("test_elicitation", {"message": "Who are you?"})
        sampled = await client.call_tool("test_sampling", {"prompt": "What is 2+2?"})
        several = await client.call_tool("test_input_required_result_multiple_inputs", {})
    assert texts(elicited) == [
        "User response: action=accept, content={'username': 'stdio-user', 'email': 's@example.com'}"]
    assert texts(sampled) == ["LLM response: four"]
    assert texts(several) == ["name=None; greeting=four; roots=1"]  # the form had no "name"
    assert answers.elicited == ["Who are you?", "What is your name?"]
    assert answers.sampled == ["What is 2+2?", "Generate a greeting"]


# ----- the raw pipe ---------------------------------------------------------------------

INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "pipe", "version": "1"}}}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


def pipe(messages: list[Any], *args: str, script: str | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run the server with ``messages`` as the whole of its stdin (EOF after the last)."""
    command = [sys.executable, script] if script else [sys.executable, "-m", "edgemcp", "stdio", TARGET, *args]
    lines = b"".join((m if isinstance(m, bytes) else json.dumps(m).encode()) + b"\n" for m in messages)
    return subprocess.run(command, input=lines, capture_output=True, cwd=ROOT, env=environment(), timeout=60)


def stdout_messages(done: subprocess.CompletedProcess[bytes]) -> list[dict[str, Any]]:
    """Every stdout line, each of which must be one JSON-RPC message."""
    lines = done.stdout.decode().splitlines()
    parsed = [json.loads(line) for line in lines]
    assert all(isinstance(m, dict) and m.get("jsonrpc") == "2.0" for m in parsed), lines
    return parsed


def test_only_json_rpc_on_stdout_and_a_clean_exit_at_eof() -> None:
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "test_simple_text", "arguments": {}}}
    done = pipe([INITIALIZE, INITIALIZED, call, b"not json"])
    assert done.returncode == 0, done.stderr.decode()
    answers = {m.get("id"): m for m in stdout_messages(done)}
    assert answers[1]["result"]["serverInfo"]["name"] == "edgemcp-conformance"
    assert answers[2]["result"]["content"][0]["text"] == "This is a simple text response for testing."
    assert answers[None]["error"]["code"] == -32700
    # The audit record of the call went to stderr, as did nothing that is a traceback.
    audit = [json.loads(line) for line in done.stderr.decode().splitlines() if line.startswith("{")]
    assert [(r["event"], r["tool"]) for r in audit] == [("tools/call", "test_simple_text")]
    assert b"Traceback" not in done.stderr


def test_sigterm_shuts_down_cleanly() -> None:
    """SIGTERM while stdin is still open (the client did not close it): exit 0, no crash of
    the stdin reader at interpreter shutdown."""
    process = subprocess.Popen([sys.executable, "-m", "edgemcp", "stdio", TARGET], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=environment())
    assert process.stdin is not None and process.stdout is not None and process.stderr is not None
    process.stdin.write(json.dumps(INITIALIZE).encode() + b"\n")
    process.stdin.flush()
    assert json.loads(process.stdout.readline())["id"] == 1  # serving, stdin open
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=SAFETY_TIMEOUT) == 0
    errors = process.stderr.read()
    assert b"Fatal" not in errors and b"Traceback" not in errors, errors
    process.stdin.close()
    process.stdout.close()
    process.stderr.close()


def test_a_modern_request_is_told_the_versions_stdio_speaks() -> None:
    discover = {"jsonrpc": "2.0", "id": 7, "method": "server/discover",
                "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                                     "io.modelcontextprotocol/clientCapabilities": {}}}}
    done = pipe([discover])
    [answer] = stdout_messages(done)
    assert answer["id"] == 7 and answer["error"]["code"] == -32022
    assert "2025-11-25" in answer["error"]["data"]["supported"]


def test_an_unknown_module_is_one_line_on_stderr() -> None:
    done = subprocess.run([sys.executable, "-m", "edgemcp", "stdio", "examples.nope:app"], input=b"",
                          capture_output=True, cwd=ROOT, env=environment(), timeout=60)
    assert done.returncode == 2
    assert done.stdout == b""
    assert done.stderr.decode().strip() == ("edgemcp stdio: cannot import examples.nope (from examples.nope:app): "
                                           "No module named 'examples.nope'")


def test_app_run_defaults_to_stdio(tmp_path: Path) -> None:
    script = tmp_path / "local_server.py"
    script.write_text(
        "from edgemcp import EdgeMCP\n\n"
        "app = EdgeMCP('local')\n\n\n"
        "@app.tool()\n"
        "def shout(text: str) -> str:\n"
        "    print('a print in a tool goes to stderr')\n"
        "    return text.upper()\n\n\n"
        "if __name__ == '__main__':\n"
        "    app.run()\n")
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "shout", "arguments": {"text": "hi"}}}
    done = pipe([INITIALIZE, INITIALIZED, call], script=str(script))
    assert done.returncode == 0, done.stderr.decode()
    answers = {m["id"]: m for m in stdout_messages(done)}
    assert answers[1]["result"]["serverInfo"]["name"] == "local"
    assert answers[2]["result"]["content"][0]["text"] == "HI"
    assert b"a print in a tool goes to stderr" in done.stderr


# ----- the bridge in process: a session the app forgot --------------------------------


class Pipe:
    """stdin and stdout of the bridge, in process: lines go in through a queue, messages
    come out into a queue."""

    def __init__(self) -> None:
        self.lines: asyncio.Queue[bytes] = asyncio.Queue()
        self.out: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def stdin(self) -> AsyncIterator[bytes]:
        while line := await self.lines.get():
            yield line

    def send(self, message: dict[str, Any] | None) -> None:
        self.lines.put_nowait(json.dumps(message).encode() if message is not None else b"")

    async def next(self) -> dict[str, Any]:
        async with asyncio.timeout(SAFETY_TIMEOUT):
            return await self.out.get()

    async def answer(self, request_id: Any) -> dict[str, Any]:
        while True:
            message = await self.next()
            if message.get("id") == request_id and "method" not in message:
                return message


def local_app() -> tuple[Any, Any]:
    """A small app of its own (its own memory store) that logs and asks."""
    from edgemcp import Context, EdgeMCP
    from edgemcp.store.memory import MemoryStore

    store = MemoryStore()
    app = EdgeMCP("local", store=store)

    @app.tool()
    async def chatty(ctx: Context) -> str:
        await ctx.info("one")
        await ctx.info("two")
        return "done"

    @app.tool()
    async def ask(question: str, ctx: Context) -> str:
        answer = await ctx.elicit(question, {"type": "object", "properties": {"ok": {"type": "boolean"}}})
        return f"action={answer.get('action')}"

    return app, store


def sessions_in(store: Any) -> list[str]:
    return [key for key in store._data if ":session:" in key]


async def test_a_session_the_app_forgot_is_replaced_with_the_clients_own_initialize() -> None:
    from edgemcp.stdio import serve

    app, store = local_app()
    pipe = Pipe()
    served = asyncio.create_task(serve(app, pipe.stdin(), pipe.out.put_nowait))
    pipe.send({**INITIALIZE, "params": {**INITIALIZE["params"], "capabilities": {"elicitation": {}}}})
    assert (await pipe.answer(1))["result"]["protocolVersion"] == "2025-11-25"
    pipe.send(INITIALIZED)
    pipe.send({"jsonrpc": "2.0", "id": 2, "method": "logging/setLevel", "params": {"level": "info"}})
    await pipe.answer(2)

    # The session's record goes, as when its TTL runs out while the client is idle.
    [session] = sessions_in(store)
    await store.delete(session)

    pipe.send({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "chatty"}})
    logs = []
    while (message := await pipe.next()).get("id") != 3:
        logs.append(message["params"]["data"])
    assert message["result"]["content"][0]["text"] == "done"
    assert logs == ["one", "two"]  # the client's log level came along
    [replacement] = sessions_in(store)
    assert replacement != session
    # The new session has the client's capabilities: an elicitation still reaches it, and
    # its answer comes in on stdin while the call waits.
    pipe.send({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
               "params": {"name": "ask", "arguments": {"question": "still there?"}}})
    asked = await pipe.next()
    assert asked["method"] == "elicitation/create" and asked["params"]["message"] == "still there?"
    pipe.send({"jsonrpc": "2.0", "id": asked["id"], "result": {"action": "decline"}})
    assert (await pipe.answer(4))["result"]["content"][0]["text"] == "action=decline"
    pipe.send(None)  # EOF
    await served
    assert sessions_in(store) == []  # EOF ended the session
