"""The JSON-RPC dispatch shared by the two bare apps (stdlib only): the same methods and result
shapes as edgemcp, with no validation beyond what a hand-rolled endpoint would do. This is the
ceiling a framework on the same ASGI stack can approach, not an MCP implementation."""

import json
import secrets

from ._schemas import FUNCTIONS, STRUCTURED, tool_definitions

MODERN = "2026-07-28"
SERVER_INFO = {"name": "bench-bare", "version": "1.0.0"}
_MODERN_META = {"io.modelcontextprotocol/serverInfo": SERVER_INFO}
_TOOLS = tool_definitions()
_CAPABILITIES = {"tools": {"listChanged": False}}


def new_session_id() -> str:
    return secrets.token_hex(16)


def dispatch(message: dict, modern: bool) -> dict:
    """One JSON-RPC request -> the JSON-RPC response object."""
    method = message.get("method")
    params = message.get("params") or {}
    if method == "tools/call":
        fn = FUNCTIONS.get(params.get("name"))
        if fn is None:
            return {"jsonrpc": "2.0", "id": message.get("id"),
                    "error": {"code": -32602, "message": "Unknown tool"}}
        value = fn(**params.get("arguments", {}))
        if params["name"] in STRUCTURED:
            structured = {"result": value}
            result = {"content": [{"type": "text", "text": json.dumps(structured)}],
                      "structuredContent": structured}
        else:
            result = {"content": [{"type": "text", "text": value}]}
    elif method == "tools/list":
        result = {"tools": _TOOLS}
    elif method == "server/discover":
        result = {"supportedVersions": [MODERN, "2025-11-25"], "capabilities": _CAPABILITIES,
                  "ttlMs": 0, "cacheScope": "public"}
    elif method == "initialize":
        result = {"protocolVersion": params.get("protocolVersion", "2025-11-25"),
                  "capabilities": _CAPABILITIES, "serverInfo": SERVER_INFO}
    else:
        return {"jsonrpc": "2.0", "id": message.get("id"),
                "error": {"code": -32601, "message": "Method not found"}}
    if modern:
        result["resultType"] = "complete"
        result["_meta"] = _MODERN_META
    return {"jsonrpc": "2.0", "id": message.get("id"), "result": result}
