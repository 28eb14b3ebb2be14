"""Official SDK (mcp 2.3.0) low-level ``Server``, stateless with JSON responses:
``Server(...).streamable_http_app(stateless_http=True, json_response=True)``. Tools are
hand-written definitions; ``get_tool_input_schema`` is set so that 2026-07-28 Mcp-Param
header validation looks the schema up instead of running the tools/list handler (the SDK's
documented fast path)."""

import json

import mcp_types as types
from mcp.server.lowlevel import Server

from ._schemas import FUNCTIONS, STRUCTURED, tool_definitions

_TOOLS = [types.Tool.model_validate(t) for t in tool_definitions()]
_SCHEMAS = {t.name: t.input_schema for t in _TOOLS}


async def list_tools(ctx, params):  # type: ignore[no-untyped-def]
    return types.ListToolsResult(tools=_TOOLS)


async def call_tool(ctx, params):  # type: ignore[no-untyped-def]
    fn = FUNCTIONS.get(params.name)
    if fn is None:
        return types.CallToolResult(content=[types.TextContent(type="text", text="unknown tool")],
                                    is_error=True)
    value = fn(**(params.arguments or {}))
    if params.name in STRUCTURED:
        structured = {"result": value}
        return types.CallToolResult(content=[types.TextContent(type="text", text=json.dumps(structured))],
                                    structured_content=structured)
    return types.CallToolResult(content=[types.TextContent(type="text", text=value)])


server = Server("bench-sdk-lowlevel", version="1.0.0", on_list_tools=list_tools, on_call_tool=call_tool,
                get_tool_input_schema=_SCHEMAS.get)
asgi = server.streamable_http_app(stateless_http=True, json_response=True)
