"""Every fixture the official MCP conformance suite calls, written with the OFFICIAL Python SDK
(``mcp`` 2.3.0) instead of edgemcp: ``MCPServer`` in stateful streamable-HTTP mode, so sessions
and pending server-to-client requests live in this process's memory.

    uvicorn tests.apps.sdk_conformance_server:app --port 8000

It is the baseline the router is measured against: the same suite with and without the
router in front. Names, texts and schemas follow examples/conformance_server.py; the code is
the SDK's public API throughout, except where noted (``_lowlevel_server``). Tools that ask the
client do it through tests/apps/sdk_inputs.py, in either protocol era.
"""

import asyncio
import base64
import json
from typing import Annotated, Any, Literal

from mcp.server.caching import CacheHint
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.prompts.base import Message, UserMessage
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.types import Audio, Image
from mcp_types import (
    Completion,
    CompletionArgument,
    CompletionContext,
    EmbeddedResource,
    EmptyResult,
    InputRequest,
    InputRequiredResult,
    PromptReference,
    ResourceTemplateReference,
    SetLevelRequestParams,
    SubscribeRequestParams,
    TextContent,
    TextResourceContents,
    ToolAnnotations,
    UnsubscribeRequestParams,
)
from pydantic import Field

from .sdk_inputs import Inputs, content_of, declared, elicitation, roots, sampling, text_of

# A 1x1 PNG and a tiny WAV, so content tests carry real media.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
WAV = base64.b64decode("UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA=")
READ_ONLY = ToolAnnotations(read_only_hint=True)
# SEP-2549 cache hints (2026-07-28): the lists are fixed, so shareable for a minute; reads are
# hinted per method only, and the watched resource is meant to change, so they are not cached.
PUBLIC_MINUTE = CacheHint(ttl_ms=60_000, scope="public")
UNCACHED = CacheHint(ttl_ms=0, scope="private")

JSON_SCHEMA_2020_12: dict[str, Any] = {
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


def json_schema_2020_12_tool(
    name: str | None = None,
    contactMethod: str | None = None,
    address: dict[str, Any] | None = None,
    phone: str | None = None,
    email: str | None = None,
) -> str:
    """Tool with JSON Schema 2020-12 features"""
    return f"name={name}, contactMethod={contactMethod}"


# MCPServer derives a tool's inputSchema from its signature; to publish this hand-written
# 2020-12 schema the Tool is built first, its advertised parameters replaced (arguments are
# still validated by the signature's model), and handed to the constructor.
SCHEMA_TOOL = Tool.from_function(json_schema_2020_12_tool, annotations=READ_ONLY).model_copy(
    update={"parameters": JSON_SCHEMA_2020_12}
)


server: MCPServer = MCPServer(
    "sdk-conformance",
    version="0.1.0",
    instructions="Fixtures for the official MCP conformance suite, on the official Python SDK.",
    log_level="WARNING",
    tools=[SCHEMA_TOOL],
    cache_hints={
        "tools/list": PUBLIC_MINUTE,
        "prompts/list": PUBLIC_MINUTE,
        "resources/list": PUBLIC_MINUTE,
        "resources/templates/list": PUBLIC_MINUTE,
        "resources/read": UNCACHED,
    },
)


# ----- logging (handshake era: logging/setLevel per session) ------------------------------

LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]
session_levels: dict[str, str] = {}


async def log(ctx: Context, level: Literal["debug", "info", "warning"], message: str) -> None:
    """Log to the client unless its session asked for a higher level. (On 2026-07-28 the SDK
    itself sends only what the request's ``_meta`` log level allows.)"""
    session = (ctx.headers or {}).get("mcp-session-id", "")
    if LEVELS.index(level) >= LEVELS.index(session_levels.get(session, "debug")):
        await ctx.log(level, message)


# ----- tools: content -------------------------------------------------------------------


@server.tool(annotations=READ_ONLY)
def test_simple_text() -> str:
    """Returns a simple text response."""
    return "This is a simple text response for testing."


@server.tool(annotations=READ_ONLY)
def test_image_content() -> Image:
    """Returns an image."""
    return Image(data=PNG, format="png")


@server.tool(annotations=READ_ONLY)
def test_audio_content() -> Audio:
    """Returns audio."""
    return Audio(data=WAV, format="wav")


def embedded(uri: str, text: str, mime_type: str) -> EmbeddedResource:
    return EmbeddedResource(
        type="resource", resource=TextResourceContents(uri=uri, mime_type=mime_type, text=text)
    )


@server.tool(annotations=READ_ONLY)
def test_embedded_resource() -> EmbeddedResource:
    """Returns an embedded resource."""
    return embedded("test://embedded-resource", "This is an embedded resource content.", "text/plain")


@server.tool(annotations=READ_ONLY)
def test_multiple_content_types() -> list[TextContent | Image | EmbeddedResource]:
    """Returns text, an image and a resource."""
    return [
        TextContent(type="text", text="Multiple content types test:"),
        Image(data=PNG, format="png"),
        embedded("test://mixed-content-resource", '{"test":"data","value":123}', "application/json"),
    ]


@server.tool(annotations=READ_ONLY)
async def test_tool_with_logging(ctx: Context) -> str:
    """Sends three log messages while it runs."""
    await log(ctx, "info", "Tool execution started")
    await asyncio.sleep(0.05)
    await log(ctx, "info", "Tool processing data")
    await asyncio.sleep(0.05)
    await log(ctx, "info", "Tool execution completed")
    return "Tool with logging executed successfully"


@server.tool(annotations=READ_ONLY)
async def test_tool_with_progress(ctx: Context) -> str:
    """Reports progress 0, 50 and 100 of 100."""
    for step in (0, 50, 100):
        await ctx.report_progress(step, 100, f"Completed step {step} of 100")
        if step < 100:
            await asyncio.sleep(0.05)
    return str(ctx.request_id)


@server.tool(annotations=READ_ONLY)
def test_error_handling() -> str:
    """Always fails, as a tool error the model can read."""
    raise ToolError("This tool intentionally returns an error for testing")


# ----- tools: asking the client (both eras) ---------------------------------------------


@server.tool()
async def test_sampling(prompt: str, ctx: Context) -> str | InputRequiredResult:
    """Asks the client's model to answer ``prompt``."""
    answers = await Inputs(ctx).ask({"sampling": sampling(prompt, 100)})
    if isinstance(answers, InputRequiredResult):
        return answers
    return f"LLM response: {text_of(answers['sampling'])}"


@server.tool()
async def test_elicitation(message: str, ctx: Context) -> str | InputRequiredResult:
    """Asks the user for a username and an email."""
    form = {
        "type": "object",
        "properties": {
            "username": {"type": "string", "description": "User's response"},
            "email": {"type": "string", "description": "User's email address"},
        },
        "required": ["username", "email"],
    }
    answers = await Inputs(ctx).ask({"elicitation": elicitation(message, form)})
    if isinstance(answers, InputRequiredResult):
        return answers
    answer = answers["elicitation"]
    return f"User response: action={answer.get('action')}, content={answer.get('content')}"


DEFAULTS_FORM = {
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
}


@server.tool()
async def test_elicitation_sep1034_defaults(ctx: Context) -> str | InputRequiredResult:
    """Elicits a form whose fields all carry defaults (SEP-1034)."""
    question = elicitation("Please review and update the form fields with defaults", DEFAULTS_FORM)
    answers = await Inputs(ctx).ask({"defaults": question})
    if isinstance(answers, InputRequiredResult):
        return answers
    answer = answers["defaults"]
    return f"Elicitation completed: action={answer.get('action')}, content={answer.get('content')}"


def titled(values: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"const": const, "title": title} for const, title in values]


ENUMS_FORM = {
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
            "oneOf": titled([("value1", "First Option"), ("value2", "Second Option"),
                             ("value3", "Third Option")]),
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
            "items": {"anyOf": titled([("value1", "First Choice"), ("value2", "Second Choice"),
                                       ("value3", "Third Choice")])},
        },
    },
    "required": [],
}


@server.tool()
async def test_elicitation_sep1330_enums(ctx: Context) -> str | InputRequiredResult:
    """Elicits every enum style of SEP-1330."""
    question = elicitation("Please select options from the enum fields", ENUMS_FORM)
    answers = await Inputs(ctx).ask({"enums": question})
    if isinstance(answers, InputRequiredResult):
        return answers
    answer = answers["enums"]
    return f"Elicitation completed: action={answer.get('action')}, content={answer.get('content')}"


# ----- tools: 2026-07-28 (MRTR, capabilities, headers, listen) --------------------------

NAME_FORM = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
CONFIRM_FORM = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}


@server.tool()
async def test_input_required_result_elicitation(ctx: Context) -> str | InputRequiredResult:
    """Asks for the user's name (MRTR elicitation)."""
    answers = await Inputs(ctx).ask({"user_name": elicitation("What is your name?", NAME_FORM)})
    if isinstance(answers, InputRequiredResult):
        return answers
    return f"Hello, {content_of(answers['user_name']).get('name', 'stranger')}!"


@server.tool()
async def test_input_required_result_sampling(ctx: Context) -> str | InputRequiredResult:
    """Asks the client's model a question (MRTR sampling)."""
    question = sampling("What is the capital of France?", 100)
    answers = await Inputs(ctx).ask({"capital_question": question})
    if isinstance(answers, InputRequiredResult):
        return answers
    return f"LLM said: {text_of(answers['capital_question'])}"


@server.tool()
async def test_input_required_result_list_roots(ctx: Context) -> str | InputRequiredResult:
    """Asks for the client's roots (MRTR)."""
    answers = await Inputs(ctx).ask({"client_roots": roots()})
    if isinstance(answers, InputRequiredResult):
        return answers
    listed = answers["client_roots"].get("roots", [])
    return "Roots: " + ", ".join(str(root.get("uri")) for root in listed)


@server.tool()
async def test_input_required_result_request_state(ctx: Context) -> str | InputRequiredResult:
    """Carries a marker across rounds in the (SDK-sealed) requestState."""
    inputs = Inputs(ctx, marker="state-ok")
    answers = await inputs.ask({"confirm": elicitation("Please confirm", CONFIRM_FORM)})
    if isinstance(answers, InputRequiredResult):
        return answers
    # "state-ok" only if the marker came back in the requestState.
    marker = inputs.state.get("marker", "no-state")
    return f"{marker}: confirmed={content_of(answers['confirm']).get('ok')}"


@server.tool()
async def test_input_required_result_multiple_inputs(ctx: Context) -> str | InputRequiredResult:
    """Asks for a name, a greeting and the roots in one round."""
    answers = await Inputs(ctx, started=True).ask({
        "user_name": elicitation("What is your name?", NAME_FORM),
        "greeting": sampling("Generate a greeting", 50),
        "client_roots": roots(),
    })
    if isinstance(answers, InputRequiredResult):
        return answers
    name = content_of(answers["user_name"]).get("name")
    count = len(answers["client_roots"].get("roots", []))
    return f"name={name}; greeting={text_of(answers['greeting'])}; roots={count}"


@server.tool()
async def test_input_required_result_multi_round(ctx: Context) -> str | InputRequiredResult:
    """Two rounds: a name, then a favourite colour."""
    inputs = Inputs(ctx)
    first = await inputs.ask({"step1": elicitation("Step 1: What is your name?", NAME_FORM)})
    if isinstance(first, InputRequiredResult):
        return first
    color_form = {"type": "object", "properties": {"color": {"type": "string"}}, "required": ["color"]}
    second = await inputs.ask({"step2": elicitation("Step 2: What is your favorite color?", color_form)})
    if isinstance(second, InputRequiredResult):
        return second
    return f"{content_of(first['step1']).get('name')} likes {content_of(second['step2']).get('color')}"


@server.tool()
async def test_input_required_result_tampered_state(ctx: Context) -> str | InputRequiredResult:
    """Issues a requestState; the SDK's boundary refuses a tampered echo before this runs again."""
    answers = await Inputs(ctx, issued=True).ask({"confirm": elicitation("Please confirm", CONFIRM_FORM)})
    if isinstance(answers, InputRequiredResult):
        return answers
    return f"confirmed={content_of(answers['confirm']).get('ok')}"


@server.tool()
async def test_input_required_result_capabilities(ctx: Context) -> str | InputRequiredResult:
    """Asks only for the inputs the client declared it can answer."""
    offered: dict[str, InputRequest] = {
        "user_name": elicitation("What is your name?", NAME_FORM),
        "capital_question": sampling("What is the capital of France?", 100),
        "client_roots": roots(),
    }
    wanted = {key: request for key, request in offered.items() if declared(ctx, request)}
    if not wanted:
        return "No input capabilities declared"
    answers = await Inputs(ctx).ask(wanted)
    if isinstance(answers, InputRequiredResult):
        return answers
    return "Received: " + ", ".join(sorted(answers))


@server.tool()
async def test_missing_capability(ctx: Context) -> str | InputRequiredResult:
    """Needs sampling; a client without it gets MissingRequiredClientCapability (-32021)."""
    answers = await Inputs(ctx).ask({"hello": sampling("Say hello", 20)})
    if isinstance(answers, InputRequiredResult):
        return answers
    return text_of(answers["hello"])


@server.tool(annotations=READ_ONLY)
def test_x_mcp_header(
    region: Annotated[str, Field(description="Region", json_schema_extra={"x-mcp-header": "Region"})],
) -> str:
    """Mirrors ``region`` into the Mcp-Param-Region header."""
    return f"region={region}"


@server.tool()
async def test_trigger_tool_change(ctx: Context) -> str:
    """Notifies listening clients that the tool list changed."""
    await ctx.notify_tools_changed()
    return "Tool list change notified"


@server.tool()
async def test_trigger_prompt_change(ctx: Context) -> str:
    """Notifies listening clients that the prompt list changed."""
    await ctx.notify_prompts_changed()
    return "Prompt list change notified"


@server.tool()
async def test_streaming_elicitation(ctx: Context) -> str | InputRequiredResult:
    """Streams progress, then asks for input: MRTR on 2026-07-28, never a request on the stream."""
    await ctx.report_progress(0, 1, "starting")
    answers = await Inputs(ctx).ask({"user_name": elicitation("What is your name?", NAME_FORM)})
    if isinstance(answers, InputRequiredResult):
        return answers
    return f"Hello, {content_of(answers['user_name']).get('name')}!"


@server.tool()
async def test_logging_tool(ctx: Context) -> str:
    """Logs at three levels; clients only see what they asked for."""
    await log(ctx, "debug", "debug message")
    await log(ctx, "info", "info message")
    await log(ctx, "warning", "warning message")
    return "logged"


# ----- resources ------------------------------------------------------------------------


@server.resource("test://static-text", name="Static Text Resource", mime_type="text/plain",
                 description="A static text resource.")
def static_text() -> str:
    return "This is the content of the static text resource."


@server.resource("test://static-binary", name="Static Binary Resource", mime_type="image/png",
                 description="A static binary resource (a PNG).")
def static_binary() -> bytes:
    return PNG


@server.resource("test://template/{id}/data", name="Resource Template", mime_type="application/json",
                 description="Data for any id.")
def template_data(id: str) -> str:
    return json.dumps({"id": id, "templateTest": True, "data": f"Data for ID: {id}"},
                      separators=(",", ":"))


@server.resource("test://watched-resource", name="Watched Resource", mime_type="text/plain",
                 description="A resource clients may subscribe to.")
def watched() -> str:
    return "Watched resource content"


# ----- prompts --------------------------------------------------------------------------


@server.prompt()
def test_simple_prompt() -> str:
    """A prompt without arguments."""
    return "This is a simple prompt for testing."


@server.prompt()
def test_prompt_with_arguments(
    arg1: Annotated[str, Field(description="First test argument")],
    arg2: Annotated[str, Field(description="Second test argument")],
) -> str:
    """A prompt with two required arguments."""
    return f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"


@server.prompt()
def test_prompt_with_embedded_resource(
    resourceUri: Annotated[str, Field(description="URI of the resource to embed")],
) -> list[Message]:
    """A prompt that embeds a resource."""
    return [
        UserMessage(embedded(resourceUri, "Embedded resource content for testing.", "text/plain")),
        UserMessage("Please process the embedded resource above."),
    ]


@server.prompt()
def test_prompt_with_image() -> list[Message]:
    """A prompt with an image."""
    return [UserMessage(Image(data=PNG, format="png")), UserMessage("Please analyze the image above.")]


@server.prompt()
async def test_input_required_result_prompt(ctx: Context) -> str | InputRequiredResult:
    """A prompt that asks the user for context first (MRTR)."""
    form = {"type": "object", "properties": {"context": {"type": "string"}}, "required": ["context"]}
    answers = await Inputs(ctx).ask(
        {"user_context": elicitation("What context should the prompt use?", form)}
    )
    if isinstance(answers, InputRequiredResult):
        return answers
    return f"Prompt with context: {content_of(answers['user_context']).get('context')}"


# ----- completion -----------------------------------------------------------------------


@server.completion()  # type: ignore[untyped-decorator, no-untyped-call]  # unannotated in mcp 2.3.0
async def complete(
    ref: PromptReference | ResourceTemplateReference,
    argument: CompletionArgument,
    context: CompletionContext | None,
) -> Completion | None:
    if not isinstance(ref, PromptReference) or ref.name != "test_prompt_with_arguments":
        return None
    options = ["paris", "park", "party"] if argument.name == "arg1" else ["alpha", "beta"]
    values = [option for option in options if option.startswith(argument.value)]
    return Completion(values=values, total=len(values), has_more=False)


# ----- handshake-era methods MCPServer has no public hook for ----------------------------
# mcp 2.3.0's MCPServer exposes no decorator for logging/setLevel or resources/(un)subscribe
# (the SDK's own everything-server registers them the same way, with a TODO to add one); the
# low-level Server's add_request_handler is public, reaching it from MCPServer is not.

subscriptions: dict[str, set[str]] = {}


def session_of(ctx: ServerRequestContext[Any, Any]) -> str:
    headers = getattr(ctx.request, "headers", None) or {}
    return str(headers.get("mcp-session-id", ""))


async def set_level(ctx: ServerRequestContext[Any, Any], params: SetLevelRequestParams) -> EmptyResult:
    session_levels[session_of(ctx)] = params.level
    return EmptyResult()


async def subscribe(ctx: ServerRequestContext[Any, Any], params: SubscribeRequestParams) -> EmptyResult:
    subscriptions.setdefault(session_of(ctx), set()).add(str(params.uri))
    return EmptyResult()


async def unsubscribe(ctx: ServerRequestContext[Any, Any], params: UnsubscribeRequestParams) -> EmptyResult:
    subscriptions.get(session_of(ctx), set()).discard(str(params.uri))
    return EmptyResult()


lowlevel = server._lowlevel_server
lowlevel.add_request_handler("logging/setLevel", SetLevelRequestParams, set_level)
lowlevel.add_request_handler("resources/subscribe", SubscribeRequestParams, subscribe)
lowlevel.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, unsubscribe)

# Stateful streamable HTTP (the defaults, spelled out): sessions in memory, SSE responses, and
# DNS-rebinding protection (Host/Origin must be localhost) because the host is loopback.
app = server.streamable_http_app(stateless_http=False, json_response=False, host="127.0.0.1")
