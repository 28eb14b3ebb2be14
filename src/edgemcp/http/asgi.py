"""Streamable HTTP as a plain ASGI application, both protocol eras on one endpoint.

This module routes: lifespan, the OAuth protected-resource metadata, and the MCP
endpoint, where Host and Origin are checked first and then each HTTP method goes to its
handler (POST: ``post``; GET: ``stream``; DELETE: ``handshake``). The runtime comes from
the app's ``start`` when the first request (or lifespan startup) needs it.
"""

import logging
from collections.abc import Callable

from ..protocol.errors import INTERNAL_ERROR, ErrorKind, MCPError
from ..runtime import ConfigurationError, Runtime
from ..types import Receive, Scope, Send
from . import handshake, post, stream
from .wire import Disconnected, Headers, Refusal, refuse, send_json, send_refusal

log = logging.getLogger("edgemcp")


def routed_path(scope: Scope) -> str:
    """The request's path below where this app is mounted: a host app (Starlette's
    ``Mount("/tools", app=...)``, FastAPI's ``app.mount``) keeps the full path in ``path``
    and what it matched in ``root_path``, as ASGI says."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root):]
    return path.rstrip("/") or "/"


class StreamableHTTP:
    """The ASGI app behind ``EdgeMCP.asgi()``."""

    def __init__(self, start: Callable[[], Runtime], path: str = "/mcp") -> None:
        self.start = start
        self.path = path.rstrip("/") or "/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            runtime = self.start()
        except ConfigurationError as exc:  # no lifespan ran to refuse it at start
            log.error("edgemcp: the app is misconfigured: %s", exc)
            misconfigured = MCPError(INTERNAL_ERROR, f"Server misconfigured: {exc}", kind=ErrorKind.UNAVAILABLE)
            await send_refusal(send, Refusal(misconfigured), [])
            return
        path = routed_path(scope)
        oauth = runtime.identity.oauth
        if oauth is not None and scope["method"] == "GET" and path == oauth.metadata_path:
            # RFC 9728 protected-resource metadata: public, cacheable, readable cross-origin.
            await send_json(send, 200, oauth.metadata(), [
                (b"cache-control", b"public, max-age=3600"), (b"access-control-allow-origin", b"*")])
            return
        if path != self.path:
            await send_json(send, 404, {"error": "not found", "mcpEndpoint": self.path})
            return
        headers = Headers(scope)
        if runtime.proxies is not None:  # only a trusted proxy's Forwarded / X-Forwarded-* count
            forwarded = runtime.proxies.resolve(headers.values, headers.address)
            if forwarded is not None:
                headers.forward(forwarded)
        try:
            if not runtime.origin_guard.host_ok(headers.get("host")):
                raise refuse(403, "Forbidden: Host header not allowed")
            if not runtime.origin_guard.origin_ok(headers.get("origin")):
                raise refuse(403, "Forbidden: Origin not allowed")
            method = scope["method"]
            if method == "POST":
                await post.serve(runtime, headers, receive, send)
            elif method == "GET":
                await stream.serve(runtime, headers, receive, send)
            elif method == "DELETE":
                await handshake.delete(runtime, headers, send)
            else:
                raise refuse(405, f"Method Not Allowed: {method}", headers=[(b"allow", b"GET, POST, DELETE")])
        except Disconnected:
            return
        except Refusal as refusal:
            await send_refusal(send, refusal, [])

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    runtime = self.start()  # build now: a bad configuration fails at start
                    await runtime.warm_up()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.start().aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return
