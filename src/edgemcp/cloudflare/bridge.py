"""One HTTP exchange between a Worker's fetch handler and an ASGI app, with no JS in it.

Why not the SDK's ``asgi`` bridge: it runs lifespan startup and shutdown on every
request, reads the whole body before the app runs, and only says ``http.disconnect``
after the response is finished, so a client closing its stream (cancellation in MCP
2026-07-28) never reaches the app. Here the body is read as the app asks for it, a client
abort (``request.signal``) becomes ``http.disconnect`` at once, and the response is a
plain body unless the app streams (``more_body=True``), then a stream.

The platform side (building a JS ``Response``, a ``TransformStream``) is behind the small
``Platform`` protocol, so CPython tests drive this module with fakes.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from ..jsoncodec import dumps
from ..protocol.dispatch import error_response
from ..protocol.errors import INTERNAL_ERROR, MCPError
from ..types import ASGIApp, Message, Scope

log = logging.getLogger("edgemcp")

NULL_BODY_STATUSES = frozenset({101, 103, 204, 205, 304})
Headers = list[tuple[str, str]]


class StreamWriter(Protocol):
    async def write(self, chunk: bytes) -> None: ...
    async def close(self) -> None: ...


class Platform(Protocol):
    """Makes the runtime's response objects."""

    def respond(self, status: int, headers: Headers, body: bytes | None) -> Any: ...
    def stream(self, status: int, headers: Headers) -> tuple[Any, StreamWriter]: ...


def request_scope(
    method: str, url: str, headers: Iterable[tuple[str, str]], *,
    cf: Mapping[str, Any] | None = None, env: Any = None,
) -> Scope:
    """The ASGI HTTP scope for a Workers request. ``cf`` (Cloudflare's request properties,
    such as ``tlsClientAuth``) and ``env`` (the bindings) ride along as extra keys; the
    client address is Cloudflare's ``cf-connecting-ip``."""
    parts = urlsplit(url)
    pairs = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    client_ip = next((v.decode("latin-1") for k, v in pairs if k == b"cf-connecting-ip"), None)
    default_port = 443 if parts.scheme == "https" else 80
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method.upper(),
        "scheme": parts.scheme or "https",
        "path": unquote(parts.path) or "/",
        "raw_path": (parts.path or "/").encode("latin-1"),
        "query_string": parts.query.encode("latin-1"),
        "root_path": "",
        "headers": pairs,
        "client": (client_ip, 0) if client_ip else None,
        "server": (parts.hostname or "", parts.port or default_port),
        "cf": dict(cf) if cf else {},
        "env": env,
    }


class Exchange:
    """Runs the ASGI app for one request. ``response`` resolves with the platform's
    response object as soon as its head is known; the body may stream after that."""

    def __init__(self, scope: Scope, body: AsyncIterator[bytes] | None, platform: Platform) -> None:
        self.scope = scope
        self.body = body
        self.platform = platform
        self.response: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.gone = asyncio.Event()  # the client went away, or the response is complete
        self.status = 500
        self.headers: Headers = []
        self.writer: StreamWriter | None = None
        self.request_done = False

    def disconnect(self) -> None:
        """The client aborted (the request's AbortSignal fired)."""
        self.gone.set()

    async def receive(self) -> Message:
        if not self.request_done and not self.gone.is_set():
            chunk = None
            if self.body is not None:
                try:
                    chunk = await anext(self.body)
                except StopAsyncIteration:
                    pass
                except Exception:  # the runtime failed the body stream: the client is gone
                    self.gone.set()
                    return {"type": "http.disconnect"}
            if chunk is not None:
                return {"type": "http.request", "body": bytes(chunk), "more_body": True}
            self.request_done = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            self.headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", [])]
            return
        if message["type"] != "http.response.body":
            return
        body: bytes = message.get("body", b"")
        more = bool(message.get("more_body", False))
        if self.writer is None and not self.response.done():
            if not more:
                empty = self.status in NULL_BODY_STATUSES
                self.response.set_result(self.platform.respond(self.status, self.headers, None if empty else body))
                self.gone.set()
                return
            response, self.writer = self.platform.stream(self.status, self.headers)
            self.response.set_result(response)
        if self.writer is None:
            return  # the response is complete, or the client left: ASGI says ignore
        try:
            if body:
                await self.writer.write(body)
        except Exception:
            # The client went away. Like uvicorn, drop what the app sends after that; the
            # app learns of it from receive() (http.disconnect), which cancels the call.
            await self._close()
            return
        if not more:
            await self._close()

    async def _close(self) -> None:
        writer, self.writer = self.writer, None
        self.gone.set()
        if writer is not None:
            try:
                await writer.close()
            except Exception:
                log.debug("closing the response stream failed", exc_info=True)

    async def run(self, app: ASGIApp) -> None:
        try:
            await app(self.scope, self.receive, self.send)
        except Exception as exc:
            # Logged by type only, like the transport does: messages may carry user data.
            log.error("edgemcp: the app failed on the Worker: %s", type(exc).__name__)
        finally:
            if not self.response.done():
                self.response.set_result(self.platform.respond(
                    500, [("content-type", "application/json")], internal_error()))
            await self._close()
            # One more turn of the loop: audit lines queued for it reach stdout (Workers
            # Logs) before the request ends and the isolate may be frozen.
            await asyncio.sleep(0)


def internal_error(message: str = "Internal error") -> bytes:
    return dumps(error_response(None, MCPError(INTERNAL_ERROR, message)))
