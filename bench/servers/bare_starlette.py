"""Bare Starlette: one POST route that parses the JSON-RPC body (``request.json()``) and returns
the same result shape as edgemcp (``JSONResponse``). Notifications get 202; ``initialize``
hands out a random Mcp-Session-Id that is never checked."""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._bare import MODERN, dispatch, new_session_id


async def mcp(request: Request) -> Response:
    message = await request.json()
    if "id" not in message:
        return Response(status_code=202)
    modern = request.headers.get("mcp-protocol-version") == MODERN
    response = JSONResponse(dispatch(message, modern))
    if message.get("method") == "initialize":
        response.headers["mcp-session-id"] = new_session_id()
    return response


asgi = Starlette(routes=[Route("/mcp", mcp, methods=["POST"])])
