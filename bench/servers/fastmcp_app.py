"""FastMCP 4.1.6, stateless with JSON responses: ``http_app(stateless_http=True,
json_response=True)``. FastMCP's session manager subclasses the official SDK's, so
2026-07-28 requests take the SDK's per-request path."""

import os

# Per-request INFO logging off, as for every server here (uvicorn runs with --log-level warning).
os.environ.setdefault("FASTMCP_LOG_LEVEL", "WARNING")

from fastmcp import FastMCP

from ._functions import TOOLS

app = FastMCP("bench-fastmcp", version="1.0.0")
for fn in TOOLS:
    app.tool(fn)

asgi = app.http_app(stateless_http=True, json_response=True)
