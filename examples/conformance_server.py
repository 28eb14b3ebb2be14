"""Every fixture the official MCP conformance suite scores, on one edgemcp app.

    uvicorn examples.conformance_server:app --port 8000

The store comes from ``EDGEMCP_STORE`` (default in memory) and the signing secret from
``EDGEMCP_SECRET``, so several replicas can serve one client.
"""

import asyncio
import base64
from typing import Annotated, Any

from pydantic import Field

from edgemcp import (
    Context,
    EdgeMCP,
    MCPError,
    ToolError,
    audio,
    elicitation,
    embedded_resource,
    image,
    message,
    roots,
    sampling,
    text,
)

# A 1x1 PNG and a tiny WAV, so content tests carry real media.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
WAV = base64.b64decode("UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA=")

mcp = EdgeMCP(
    "edgemcp-conformance",
    version="0.1.0",
    instructions="Fixtures for the official MCP conformance suite.",
)

# ----- tools: content -------------------------------------------------------------------


@mcp.tool(read_only=True)
def test_simple_text() -> str:
    """Returns a simple text response."""
    return "This is a simple text response for testing."


@mcp.tool(read_only=True)
def test_image_content() -> dict[str, Any]:
    """Returns an image."""
    return image(PNG, "image/png")


@mcp.tool(read_only=True)
def test_audio_content() -> dict[str, Any]:
    """Returns audio."""
    return audio(WAV, "audio/wav")


@mcp.tool(read_only=True)
def test_embedded_resource() -> dict[str, Any]:
    """Returns an embedded resource."""
    return embedded_resource(
        "test://embedded-resource", "This is an embedded resource content.", "text/plain"
    )


@mcp.tool(read_only=True)
def test_multiple_content_types() -> list[dict[str, Any]]:
    """Returns text, an image and a resource."""
    return [
        text("Multiple content types test:"),
        image(PNG, "image/png"),
        embedded_resource(
            "test://mixed-content-resource", '{"test":"data","value":123}', "application/json"
        ),
    ]


@mcp.tool(read_only=True)
async def test_tool_with_logging(ctx: Context) -> str:
    """Sends three log messages while it runs."""
    await ctx.info("Tool execution started")
    await asyncio.sleep(0.05)
    await ctx.info("Tool processing data")
    await asyncio.sleep(0.05)
    await ctx.info("Tool execution completed")
    return "Tool with logging executed successfully"


@mcp.tool(read_only=True)
async def test_tool_with_progress(ctx: Context) -> str:
    """Reports progress 0, 50 and 100 of 100."""
    for step in (0, 50, 100):
        await ctx.progress(step, 100, f"Completed step {step} of 100")
        if step < 100:
            await asyncio.sleep(0.05)
    return str(ctx.request_id)


@mcp.tool(read_only=True)
def test_error_handling() -> str:
    """Always fails, as a tool error the model can read."""
    raise ToolError("This tool intentionally returns an error for testing")


# ----- tools: asking the client (both eras) ---------------------------------------------


@mcp.tool()
async def test_sampling(prompt: str, ctx: Context) -> str:
    """Asks the client's model to answer ``prompt``."""
    result = await ctx.sample(prompt, max_tokens=100, key="sampling")
    content = result.get("content", {})
    return f"LLM response: {content.get('text', '') if isinstance(content, dict) else ''}"


@mcp.tool()
async def test_elicitation(message: str, ctx: Context) -> str:
    """Asks the user for a username and an email."""
    result = await ctx.elicit(
        message,
        {
            "type": "object",
            "properties": {
                "username": {"type": "string", "description": "User's response"},
                "email": {"type": "string", "description": "User's email address"},
            },
            "required": ["username", "email"],
        },
        key="elicitation",
    )
    return f"User response: action={result.get('action')}, content={result.get('content')}"


@mcp.tool()
async def test_elicitation_sep1034_defaults(ctx: Context) -> str:
    """Elicits a form whose fields all carry defaults (SEP-1034)."""
    result = await ctx.elicit(
        "Please review and update the form fields with defaults",
        {
            "type": "object",
            "properties": {
                "name": {"type": "string", "description": "User name", "default": "John Doe"},
                "age": {"type": "integer", "description": "User age", "default": 30},
                "score": {"type": "number", "description": "User score", "default": 95.5},
                "status": {
                    "type": "string",
                    "description": "User status",
                    "enum": ["active", "inactive", "pending"],
                    "default": "active",
                },
                "verified": {"type": "boolean", "description": "Verification status", "default": True},
            },
            "required": [],
        },
        key="defaults",
    )
    return f"Elicitation completed: action={result.get('action')}, content={result.get('content')}"


@mcp.tool()
async def test_elicitation_sep1330_enums(ctx: Context) -> str:
    """Elicits every enum style of SEP-1330."""
    result = await ctx.elicit(
        "Please select options from the enum fields",
        {
            "type": "object",
            "properties": {
                "untitledSingle": {
                    "type": "string",
                    "description": "Select one option",
                    "enum": ["option1", "option2", "option3"],
                },
                "titledSingle": {
                    "type": "string",
                    "description": "Select one option with titles",
                    "oneOf": [
                        {"const": "value1", "title": "First Option"},
                        {"const": "value2", "title": "Second Option"},
                        {"const": "value3", "title": "Third Option"},
                    ],
                },
                "legacyEnum": {
                    "type": "string",
                    "description": "Select one option (legacy)",
                    "enum": ["opt1", "opt2", "opt3"],
                    "enumNames": ["Option One", "Option Two", "Option Three"],
                },
                "untitledMulti": {
                    "type": "array",
                    "description": "Select multiple options",
                    "minItems": 1,
                    "maxItems": 3,
                    "items": {"type": "string", "enum": ["option1", "option2", "option3"]},
                },
                "titledMulti": {
                    "type": "array",
                    "description": "Select multiple options with titles",
                    "minItems": 1,
                    "maxItems": 3,
                    "items": {
                        "anyOf": [
                            {"const": "value1", "title": "First Choice"},
                            {"const": "value2", "title": "Second Choice"},
                            {"const": "value3", "title": "Third Choice"},
                        ]
                    },
                },
            },
            "required": [],
        },
        key="enums",
    )
    return f"Elicitation completed: action={result.get('action')}, content={result.get('content')}"


# ----- tools: 2026-07-28 (MRTR, capabilities, headers, listen) --------------------------

NAME_FORM = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}


@mcp.tool()
async def test_input_required_result_elicitation(ctx: Context) -> str:
    """Asks for the user's name through MRTR elicitation."""
    answer = await ctx.elicit("What is your name?", NAME_FORM, key="user_name")
    return f"Hello, {(answer.get('content') or {}).get('name', 'stranger')}!"


@mcp.tool()
async def test_input_required_result_sampling(ctx: Context) -> str:
    """Asks the client's model a question through MRTR sampling."""
    answer = await ctx.sample("What is the capital of France?", max_tokens=100, key="capital_question")
    content = answer.get("content", {})
    return f"LLM said: {content.get('text', '') if isinstance(content, dict) else ''}"


@mcp.tool()
async def test_input_required_result_list_roots(ctx: Context) -> str:
    """Asks for the client's roots through MRTR."""
    listed = await ctx.list_roots(key="client_roots")
    return "Roots: " + ", ".join(str(r.get("uri")) for r in listed)


@mcp.tool()
async def test_input_required_result_request_state(ctx: Context) -> str:
    """Carries state across rounds in the sealed requestState."""
    ctx.state.setdefault("marker", "state-ok")
    answer = await ctx.elicit(
        "Please confirm",
        {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]},
        key="confirm",
    )
    confirmed = (answer.get("content") or {}).get("ok")
    return f"{ctx.state['marker']}: confirmed={confirmed}"


@mcp.tool()
async def test_input_required_result_multiple_inputs(ctx: Context) -> str:
    """Asks for a name, a greeting and the roots in one round."""
    ctx.state.setdefault("started", True)
    answers = await ctx.ask(
        {
            "user_name": elicitation("What is your name?", NAME_FORM),
            "greeting": sampling("Generate a greeting", max_tokens=50),
            "client_roots": roots(),
        }
    )
    name = (answers["user_name"].get("content") or {}).get("name")
    greeting = (answers["greeting"].get("content") or {}).get("text")
    count = len(answers["client_roots"].get("roots", []))
    return f"name={name}; greeting={greeting}; roots={count}"


@mcp.tool()
async def test_input_required_result_multi_round(ctx: Context) -> str:
    """Two rounds: a name, then a favourite colour."""
    first = await ctx.elicit("Step 1: What is your name?", NAME_FORM, key="step1")
    second = await ctx.elicit(
        "Step 2: What is your favorite color?",
        {"type": "object", "properties": {"color": {"type": "string"}}, "required": ["color"]},
        key="step2",
    )
    name = (first.get("content") or {}).get("name")
    color = (second.get("content") or {}).get("color")
    return f"{name} likes {color}"


@mcp.tool()
async def test_input_required_result_tampered_state(ctx: Context) -> str:
    """Issues a requestState; a tampered one is refused by edgemcp before this runs again."""
    ctx.state.setdefault("issued", True)
    answer = await ctx.elicit("Please confirm", {"type": "object", "properties": {"ok": {"type": "boolean"}}}, key="confirm")
    return f"confirmed={(answer.get('content') or {}).get('ok')}"


@mcp.tool()
async def test_input_required_result_capabilities(ctx: Context) -> str:
    """Asks only for the inputs the client declared it can answer."""
    wanted = {}
    if ctx.client_supports("elicitation"):
        wanted["user_name"] = elicitation("What is your name?", NAME_FORM)
    if ctx.client_supports("sampling"):
        wanted["capital_question"] = sampling("What is the capital of France?", max_tokens=100)
    if ctx.client_supports("roots"):
        wanted["client_roots"] = roots()
    if not wanted:
        return "No input capabilities declared"
    answers = await ctx.ask(wanted)
    return "Received: " + ", ".join(sorted(answers))


@mcp.tool()
async def test_missing_capability(ctx: Context) -> str:
    """Needs sampling; a client without it gets MissingRequiredClientCapability (-32021)."""
    answer = await ctx.sample("Say hello", max_tokens=20, key="hello")
    return str((answer.get("content") or {}).get("text"))


@mcp.tool(read_only=True)
def test_x_mcp_header(
    region: Annotated[str, Field(description="Region", json_schema_extra={"x-mcp-header": "Region"})],
) -> str:
    """Mirrors ``region`` into the Mcp-Param-Region header."""
    return f"region={region}"


@mcp.tool()
async def test_trigger_tool_change() -> str:
    """Notifies listening clients that the tool list changed."""
    await mcp.notify_list_changed("tools")
    return "Tool list change notified"


@mcp.tool()
async def test_trigger_prompt_change() -> str:
    """Notifies listening clients that the prompt list changed."""
    await mcp.notify_list_changed("prompts")
    return "Prompt list change notified"


@mcp.tool(stream_poll_after=0)
async def test_reconnection() -> str:
    """The server lets go of this call's SSE connection at once (after a priming event and
    a retry hint); the client resumes with GET + Last-Event-ID and gets the result."""
    await asyncio.sleep(0.2)
    return "Reconnection test completed"


@mcp.tool()
async def test_streaming_elicitation(ctx: Context) -> str:
    """Streams progress, then asks for input: as MRTR in 2026-07-28, never a request on the stream."""
    await ctx.progress(0, 1, "starting")
    answer = await ctx.elicit("What is your name?", NAME_FORM, key="user_name")
    return f"Hello, {(answer.get('content') or {}).get('name')}!"


@mcp.tool()
async def test_logging_tool(ctx: Context) -> str:
    """Logs at every level; clients only see what their logLevel asks for."""
    await ctx.debug("debug message")
    await ctx.info("info message")
    await ctx.warning("warning message")
    return "logged"


# ----- tools: the tasks extension (SEP-2663), named by the suite's tasks-* scenarios ----

CONFIRM_FORM = {"type": "object", "properties": {"confirm": {"type": "boolean"}}, "required": ["confirm"]}
VALUE_FORM = {"type": "object", "properties": {"name": {"type": "string"}}}


@mcp.tool(read_only=True)
def greet(name: str) -> str:
    """Never a task: answers at once."""
    return f"Hello, {name}!"


@mcp.tool(task="optional", read_only=True)
async def slow_compute(seconds: float, ctx: Context, label: str = "") -> str:
    """Works ``seconds`` seconds (progress in the task's status message), then answers; a
    task for clients that declare the extension, a plain call for the others."""
    whole = int(seconds)
    for second in range(whole):
        await ctx.progress(second, seconds, f"{label or 'compute'}: {second} of {seconds:g} s")
        await asyncio.sleep(1)
    await asyncio.sleep(seconds - whole)
    return f"Computed {label or 'result'} in {seconds:g} s"


@mcp.tool(task="required")
async def failing_job() -> str:
    """Fails as a tool (a completed task whose result has isError) after about a second;
    only ever runs as a task."""
    await asyncio.sleep(1)
    raise ToolError("The job failed")


@mcp.tool(task="optional")
async def protocol_error_job() -> str:
    """Fails with a JSON-RPC error (a failed task)."""
    raise MCPError(-32603, "The job hit an internal protocol error")


@mcp.tool(task="optional")
async def confirm_delete(filename: str, ctx: Context) -> str:
    """As a task: asks the user to confirm (input_required), then answers."""
    answer = await ctx.elicit(f"Delete {filename}?", CONFIRM_FORM, key="confirm")
    confirmed = answer.get("action") == "accept" and (answer.get("content") or {}).get("confirm")
    return f"Deleted {filename}" if confirmed else f"Kept {filename}"


@mcp.tool(task="optional")
async def multi_input(ctx: Context) -> str:
    """As a task: asks for two inputs at once; the task waits until both are answered."""
    answers = await ctx.ask({
        "first": elicitation("First value?", VALUE_FORM),
        "second": elicitation("Second value?", VALUE_FORM),
    })
    names = [(answers[key].get("content") or {}).get("name", "?") for key in ("first", "second")]
    return f"Got {names[0]} and {names[1]}"


@mcp.tool(task="required", task_start="explicit")
async def test_tool_with_task(ctx: Context) -> str:
    """Asks for a name synchronously (MRTR), then goes on as a task that greets."""
    answer = await ctx.elicit("What is your name?", NAME_FORM, key="user_name")
    await ctx.start_task()
    await asyncio.sleep(0.5)
    return f"Hello, {(answer.get('content') or {}).get('name', 'stranger')}!"


JSON_SCHEMA_2020_12 = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {
        "address": {
            "$anchor": "addressDef",
            "type": "object",
            "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
        }
    },
    "properties": {
        "name": {"type": "string"},
        "address": {"$ref": "#/$defs/address"},
        "contactMethod": {"type": "string", "enum": ["phone", "email"]},
        "phone": {"type": "string"},
        "email": {"type": "string"},
    },
    "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
    "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
    "then": {"required": ["phone"]},
    "else": {"required": ["email"]},
    "additionalProperties": False,
}


@mcp.tool(input_schema=JSON_SCHEMA_2020_12, read_only=True)
def json_schema_2020_12_tool(name: str | None = None, contactMethod: str | None = None) -> str:
    """Tool with JSON Schema 2020-12 features"""
    return f"name={name}, contactMethod={contactMethod}"


# ----- resources ------------------------------------------------------------------------


@mcp.resource("test://static-text", name="Static Text Resource", mime_type="text/plain",
              cache_ttl=60, cache_scope="public")
def static_text() -> str:
    """A static text resource."""
    return "This is the content of the static text resource."


@mcp.resource("test://static-binary", name="Static Binary Resource", mime_type="image/png",
              cache_ttl=60, cache_scope="public")
def static_binary() -> bytes:
    """A static binary resource (a PNG)."""
    return PNG


@mcp.resource("test://template/{id}/data", name="Resource Template", mime_type="application/json")
def template_data(id: str) -> dict[str, Any]:
    """Data for any id."""
    return {"id": id, "templateTest": True, "data": f"Data for ID: {id}"}


@mcp.resource("test://watched-resource", name="Watched Resource", mime_type="text/plain")
def watched() -> str:
    """A resource clients may subscribe to."""
    return "Watched resource content"


# ----- prompts --------------------------------------------------------------------------


@mcp.prompt()
def test_simple_prompt() -> str:
    """A prompt without arguments."""
    return "This is a simple prompt for testing."


@mcp.prompt()
def test_prompt_with_arguments(
    arg1: Annotated[str, Field(description="First test argument")],
    arg2: Annotated[str, Field(description="Second test argument")],
) -> str:
    """A prompt with two required arguments."""
    return f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"


@mcp.prompt()
def test_prompt_with_embedded_resource(
    resourceUri: Annotated[str, Field(description="URI of the resource to embed")],
) -> list[dict[str, Any]]:
    """A prompt that embeds a resource."""
    return [
        message("user", embedded_resource(resourceUri, "Embedded resource content for testing.", "text/plain")),
        message("user", "Please process the embedded resource above."),
    ]


@mcp.prompt()
def test_prompt_with_image() -> list[dict[str, Any]]:
    """A prompt with an image."""
    return [message("user", image(PNG, "image/png")), message("user", "Please analyze the image above.")]


@mcp.prompt()
async def test_input_required_result_prompt(ctx: Context) -> str:
    """A prompt that asks the user for context first (MRTR)."""
    answer = await ctx.elicit(
        "What context should the prompt use?",
        {"type": "object", "properties": {"context": {"type": "string"}}, "required": ["context"]},
        key="user_context",
    )
    return f"Prompt with context: {(answer.get('content') or {}).get('context')}"


@mcp.completion(prompt="test_prompt_with_arguments")
def complete_arguments(argument: str, value: str, context: dict[str, Any]) -> list[str]:
    options = ["paris", "park", "party"] if argument == "arg1" else ["alpha", "beta"]
    return [o for o in options if o.startswith(value)]


app = mcp.asgi()
