"""The dev server's console: one access line per request, naming the MCP method and its
target (``POST /mcp tools/call forecast 200 3.1 ms``), and where the audit log goes.

The method and target come from the routing headers a 2026-07-28 request carries
(``Mcp-Method``, ``Mcp-Name``), so those bodies are never parsed twice; a handshake-era
request has no such headers, so its body is read once more here (dev only).
"""

import logging
import sys
import time
from typing import Literal, TextIO

from ..http.wire import decode_header_value
from ..jsoncodec import loads
from ..observe.audit import JSONFormatter, audit_log
from ..protocol.errors import MCPError
from ..types import ASGIApp, Message, Receive, Scope, Send

AuditMode = Literal["off", "stderr", "stdout"]
AUDIT_MODES: tuple[AuditMode, ...] = ("off", "stderr", "stdout")
PEEK_LIMIT = 64 * 1024  # bytes of a body kept to find its method: the method comes first in practice
TARGET_OF = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}


def route_audit(mode: str) -> None:
    """Send the audit log (logger ``edgemcp.audit``) to stdout (its default), stderr, or
    nowhere. Runs in the server process before the first request."""
    if mode == "stdout":
        return
    audit_log.propagate = False
    if mode == "off":
        audit_log.addHandler(logging.NullHandler())  # so the default stdout handler is never added
        audit_log.setLevel(logging.CRITICAL + 1)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter())
    audit_log.addHandler(handler)
    audit_log.setLevel(logging.INFO)


def _printable(text: str, limit: int = 80) -> str:
    # A name or URI is the client's text: never let it move the cursor or fake a line.
    text = text if text.isprintable() else text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _header_text(value: str) -> str:
    """A routing header's value as the client meant it (``=?base64?…?=`` decoded)."""
    try:
        return decode_header_value(value)
    except MCPError:
        return value  # the server refuses it; the console shows what came


def mcp_of_body(body: bytes) -> str:
    """``method target`` of a JSON-RPC body, ``reply`` for a client's reply, or ``?``."""
    try:
        message = loads(body)
    except (ValueError, RecursionError):
        return "?"
    if not isinstance(message, dict):
        return "?"
    method = message.get("method")
    if not isinstance(method, str):
        return "reply" if "result" in message or "error" in message else "?"
    params = message.get("params")
    field = TARGET_OF.get(method)
    target = params.get(field) if field is not None and isinstance(params, dict) else None
    return f"{_printable(method)} {_printable(target)}" if isinstance(target, str) else _printable(method)


class AccessLog:
    """ASGI middleware writing one line per HTTP request once its response has ended."""

    def __init__(self, app: ASGIApp, stream: TextIO | None = None) -> None:
        self.app = app
        self.stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers: dict[bytes, bytes] = dict(scope["headers"])
        status = 0
        body: bytearray | None = None
        method_header = headers.get(b"mcp-method")
        if method_header is not None:
            name = headers.get(b"mcp-name")
            mcp = _printable(method_header.decode("latin-1"))
            if name is not None:
                mcp += " " + _printable(_header_text(name.decode("latin-1")))
        elif scope["method"] == "POST":
            body = bytearray()
            mcp = ""
        else:
            mcp = ""

        async def peek() -> Message:
            message = await receive()
            if body is not None and message["type"] == "http.request" and len(body) < PEEK_LIMIT:
                body.extend(message.get("body", b""))
            return message

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, peek if body is not None else receive, watch)
        finally:
            if body is not None:
                mcp = mcp_of_body(bytes(body)) if body else ""
            elapsed = (time.perf_counter() - started) * 1000
            parts = [scope["method"], _printable(scope["path"]), mcp, str(status or "-"), f"{elapsed:.1f} ms"]
            stream = self.stream or sys.stderr
            print(" ".join(p for p in parts if p), file=stream, flush=True)
