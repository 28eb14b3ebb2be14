"""Bare Starlette making the same downstream call as edgemcp's ``quote`` tool (workload j):
what a framework-free app gets with the same 20 ms wait. Other methods as bare_starlette."""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._bare import MODERN, SERVER_INFO, dispatch
from ._downstream import fetch_quote


async def mcp(request: Request) -> Response:
    message = await request.json()
    if "id" not in message:
        return Response(status_code=202)
    modern = request.headers.get("mcp-protocol-version") == MODERN
    params = message.get("params") or {}
    if message.get("method") != "tools/call" or params.get("name") != "quote":
        return JSONResponse(dispatch(message, modern))
    result = {"content": [{"type": "text", "text": await fetch_quote(params["arguments"]["symbol"])}]}
    if modern:
        result["resultType"] = "complete"
        result["_meta"] = {"io.modelcontextprotocol/serverInfo": SERVER_INFO}
    return JSONResponse({"jsonrpc": "2.0", "id": message["id"], "result": result})


asgi = Starlette(routes=[Route("/mcp", mcp, methods=["POST"])])
