"""Official SDK (mcp 2.3.0) MCPServer, stateless with JSON responses:
``streamable_http_app(stateless_http=True, json_response=True)``. The same app answers
2026-07-28 requests (per-request envelope, routed by the MCP-Protocol-Version header) and
handshake-era requests (stateless legacy path: no session)."""

from mcp.server.mcpserver import MCPServer

from ._functions import TOOLS

# log_level="WARNING": no per-request INFO log lines (the default is INFO), as for every server here.
app = MCPServer("bench-sdk-mcpserver", version="1.0.0", log_level="WARNING")
for fn in TOOLS:
    app.add_tool(fn)

asgi = app.streamable_http_app(stateless_http=True, json_response=True)
