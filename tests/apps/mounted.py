"""examples/conformance_server.py mounted under a prefix in FastAPI, for the conformance
suite: the MCP endpoint is /tools/mcp."""

from examples.conformance_server import mcp
from fastapi import FastAPI

api = FastAPI(lifespan=mcp.lifespan)
api.mount("/tools", mcp.asgi())
