"""The HTTP side of a JSON-RPC exchange: request headers, the body and its limits, and
answers. The one place that maps an error's kind to an HTTP status and ``Retry-After``.
"""

import asyncio
import base64
import binascii
import math
from functools import lru_cache
from typing import Any

from ..guards.proxies import Forwarded
from ..jsoncodec import dumps, loads
from ..protocol.dispatch import error_response
from ..protocol.errors import (
    INVALID_REQUEST,
    PARSE_ERROR,
    ErrorKind,
    MCPError,
    header_mismatch,
    invalid_request,
)
from ..protocol.request import RequestInfo
from ..types import Receive, Scope, Send
from .deadline import readers

JSON_HEADERS = [(b"content-type", b"application/json")]
RETRY_AFTER_SECONDS = 5  # how long a client should wait while a service we need is down

STATUS = {
    ErrorKind.ANSWER: 200,
    ErrorKind.BAD_REQUEST: 400,
    ErrorKind.UNAUTHENTICATED: 401,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.RATE_LIMITED: 429,
    ErrorKind.INTERNAL: 500,
    ErrorKind.BAD_GATEWAY: 502,
    ErrorKind.UNAVAILABLE: 503,
    ErrorKind.GATEWAY_TIMEOUT: 504,
}

HeaderList = list[tuple[bytes, bytes]]


def status_of(error: MCPError) -> int:
    return STATUS[error.kind]


def error_headers(error: MCPError) -> HeaderList:
    """What an error adds to the response head: how to authenticate, when to retry."""
    headers: HeaderList = []
    if error.challenge is not None:
        headers.append((b"www-authenticate", error.challenge.encode("latin-1")))
    if error.kind in (ErrorKind.UNAVAILABLE, ErrorKind.GATEWAY_TIMEOUT):
        headers.append((b"retry-after", b"%d" % RETRY_AFTER_SECONDS))
    elif error.kind is ErrorKind.RATE_LIMITED and isinstance(error.data, dict):
        wait_ms = error.data.get("retryAfterMs")
        if isinstance(wait_ms, int | float):
            headers.append((b"retry-after", b"%d" % max(1, math.ceil(wait_ms / 1000))))
    return headers


class Refusal(Exception):
    """An answer the HTTP edge gives on its own, before or instead of the core: an error,
    the request id it answers, and an explicit status for refusals that only HTTP knows
    (405, 406, 413, 415, a forbidden Host). ``info`` is what the edge knew of the request
    when it refused, for the operator's record."""

    def __init__(self, error: MCPError, request_id: Any = None, *, status: int | None = None,
                 headers: HeaderList | None = None, info: RequestInfo | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.request_id = request_id
        self.status = status if status is not None else status_of(error)
        self.headers = headers or []
        self.info = info


def refuse(status: int, message: str, code: int = INVALID_REQUEST, headers: HeaderList | None = None) -> Refusal:
    return Refusal(MCPError(code, message), status=status, headers=headers)


async def send_json(send: Send, status: int, body: Any, headers: HeaderList | None = None) -> None:
    # A declared length lets the server write head and body at once: without it uvicorn
    # falls back to chunked encoding, one more write and parse per response.
    data = dumps(body)
    await send({"type": "http.response.start", "status": status,
                "headers": [*JSON_HEADERS, (b"content-length", b"%d" % len(data)), *(headers or ())]})
    await send({"type": "http.response.body", "body": data})


async def send_empty(send: Send, status: int, headers: HeaderList | None = None) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-length", b"0"), *(headers or ())]})
    await send({"type": "http.response.body", "body": b""})


async def send_refusal(send: Send, refusal: Refusal, headers: HeaderList) -> dict[str, Any]:
    """Answer with ``refusal``; returns the JSON-RPC response sent."""
    response = error_response(refusal.request_id, refusal.error)
    await send_json(send, refusal.status, response,
                    [*refusal.headers, *error_headers(refusal.error), *headers])
    return response


class Headers:
    """The request headers we care about, with duplicates of protocol headers detected."""

    forwarded_proto: str | None = None  # the client's scheme, when a trusted proxy said (unused yet)

    def __init__(self, scope: Scope) -> None:
        raw: list[tuple[bytes, bytes]] = scope["headers"]
        self.scope = scope
        client = scope.get("client")
        self.client: tuple[str, int] | None = (client[0], client[1]) if client else None  # the TCP peer
        # The client's address for limits and records: the peer's, or what trusted proxies
        # say (``forward``).
        self.address: str | None = client[0] if client else None
        self.duplicated: set[str] = set()
        # ASGI servers give lower-case names. RFC 9110 5.5: OWS is not part of the value.
        self.values: dict[str, str] = {
            key.decode("latin-1"): value.decode("latin-1").strip(" \t") for key, value in raw
        }
        if len(self.values) != len(raw):
            self._merge_repeated(raw)

    def _merge_repeated(self, raw: list[tuple[bytes, bytes]]) -> None:
        """A header sent more than once: list values are joined, protocol headers flagged."""
        self.values = {}
        for key, value in raw:
            name, text = key.decode("latin-1"), value.decode("latin-1").strip(" \t")
            if name not in self.values:
                self.values[name] = text
            elif name.startswith("mcp-"):
                self.duplicated.add(name)
            else:
                self.values[name] += ", " + text

    def forward(self, forwarded: Forwarded) -> None:
        """Take the host, address and scheme a trusted proxy forwarded (guards/proxies.py)."""
        if forwarded.host is not None:
            self.values["host"] = forwarded.host
        if forwarded.client is not None:
            self.address = forwarded.client
        if forwarded.proto is not None:
            self.forwarded_proto = forwarded.proto

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def protocol(self, name: str) -> str | None:
        if name in self.duplicated:
            raise header_mismatch(f"{name} header given more than once")
        return self.values.get(name)


def decode_header_value(value: str) -> str:
    """A protocol header's value: plain visible ASCII, or ``=?base64?…?=`` for the rest."""
    if value.startswith("=?base64?") and value.endswith("?="):
        try:
            return base64.b64decode(value[9:-2], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise header_mismatch("invalid base64 header value") from None
    if value.isascii() and value.isprintable():  # the usual case, checked in C
        return value
    if any((ord(c) < 0x20 and c != "\t") or ord(c) > 0x7E for c in value):
        raise header_mismatch("header value has invalid characters")
    return value


@lru_cache(maxsize=64)  # a client sends the same Accept header on every request
def accepts(accept: str | None, *types: str) -> bool:
    if not accept:
        return False
    offered = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    if "*/*" in offered:
        return True
    return all(t in offered or t.split("/")[0] + "/*" in offered for t in types)


def too_deep(body: bytes, limit: int) -> bool:
    # Counting brackets is a cheap upper bound on depth; only scan when it could matter.
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


class Disconnected(Exception):
    """The client went away before we had the whole request."""


async def read_json(headers: Headers, receive: Receive, max_body: int, max_depth: int,
                    body_timeout: float = 30.0) -> Any:
    """The request body as JSON, after the checks the spec ties to statuses. A body that
    has not all arrived within ``body_timeout`` seconds is answered 408 and the connection
    closed."""
    content_type = headers.get("content-type")
    if content_type != "application/json" and (
            (content_type or "").split(";")[0].strip().lower() != "application/json"):
        raise refuse(415, "Unsupported Media Type: Content-Type must be application/json")
    if not accepts(headers.get("accept"), "application/json", "text/event-stream"):
        raise refuse(406, "Not Acceptable: Accept must list application/json and text/event-stream")
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_body:
        raise refuse(413, f"Payload Too Large: the limit is {max_body} bytes")
    reading = readers(body_timeout)
    task = reading.add()
    body = b""
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise Disconnected
            body += message.get("body", b"")
            if len(body) > max_body:
                raise refuse(413, f"Payload Too Large: the limit is {max_body} bytes")
            if not message.get("more_body"):
                break
    except asyncio.CancelledError:
        if not (reading.done(task) and task.uncancel() == 0):
            raise  # cancelled for another reason
        raise refuse(408, f"Request Timeout: the body did not arrive within {body_timeout:g} s",
                     headers=[(b"connection", b"close")]) from None
    finally:
        reading.done(task)
    if too_deep(body, max_depth):
        raise Refusal(invalid_request(f"Invalid Request: JSON nested deeper than {max_depth} levels"))
    try:
        return loads(body)
    except (ValueError, RecursionError):
        raise Refusal(MCPError(PARSE_ERROR, "Parse error: body is not valid JSON",
                               kind=ErrorKind.BAD_REQUEST)) from None


async def wait_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
