"""What a client puts on the wire besides the body: the headers of each era, the values of
routing headers, and the error a JSON-RPC error response (or a bare HTTP failure) becomes."""

import base64
from typing import Any

from ..http.modern import NAMED_METHODS
from ..protocol.errors import INTERNAL_ERROR, ErrorKind, MCPError

JSON_AND_SSE = "application/json, text/event-stream"
# The reverse of the server's kind -> status mapping (edgemcp.http.wire.STATUS).
_KINDS = {400: ErrorKind.BAD_REQUEST, 401: ErrorKind.UNAUTHENTICATED, 403: ErrorKind.FORBIDDEN,
          404: ErrorKind.NOT_FOUND, 409: ErrorKind.CONFLICT, 429: ErrorKind.RATE_LIMITED,
          500: ErrorKind.INTERNAL, 502: ErrorKind.BAD_GATEWAY, 503: ErrorKind.UNAVAILABLE,
          504: ErrorKind.GATEWAY_TIMEOUT}


class ResponseError(MCPError):
    """A JSON-RPC error the server answered (an ``MCPError``: ``code``, ``message``,
    ``data``), with the HTTP ``status`` and ``headers`` it came with. ``kind`` follows the
    status; ``challenge`` is the ``WWW-Authenticate`` header, if any."""

    def __init__(self, code: int, message: str, data: Any = None, *, status: int = 200,
                 headers: dict[str, str] | None = None) -> None:
        headers = headers or {}
        kind = ErrorKind.ANSWER if status < 400 else _KINDS.get(status, ErrorKind.BAD_REQUEST)
        super().__init__(code, message, data, kind=kind, challenge=headers.get("www-authenticate"))
        self.status = status
        self.headers = headers

    def __repr__(self) -> str:
        return f"ResponseError(code={self.code}, message={self.message!r}, status={self.status})"


def error_of(answer: Any, status: int, headers: dict[str, str]) -> ResponseError:
    """The error in a JSON-RPC error response, or one that describes a bare HTTP failure."""
    error = answer.get("error") if isinstance(answer, dict) else None
    if isinstance(error, dict) and isinstance(error.get("code"), int):
        return ResponseError(error["code"], str(error.get("message", "")), error.get("data"),
                             status=status, headers=headers)
    return ResponseError(INTERNAL_ERROR, f"HTTP {status} without a JSON-RPC response", answer,
                         status=status, headers=headers)


def header_value(value: str) -> str:
    """A routing header's value: as is when it is plain visible ASCII, else base64 (SEP-2243)."""
    if value.isascii() and value.isprintable() and value == value.strip():
        return value
    return "=?base64?" + base64.b64encode(value.encode()).decode("ascii") + "?="


def routing_headers(method: str, params: dict[str, Any], version: str,
                    header_params: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """The 2026-07-28 routing headers of a request: protocol version, method, the target's
    name, and the ``Mcp-Param-*`` mirrors of a tool's ``x-mcp-header`` arguments."""
    headers = {"mcp-protocol-version": version, "mcp-method": method}
    field = NAMED_METHODS.get(method)
    if field is not None and isinstance(params.get(field), str):
        headers["mcp-name"] = header_value(params[field])
    arguments = params.get("arguments")
    for header, path in header_params.items():
        value: Any = arguments
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None:
            text = ("true" if value else "false") if isinstance(value, bool) else str(value)
            headers[f"mcp-param-{header}"] = header_value(text)
    return headers


def header_params_of(schema: Any, path: tuple[str, ...] = ()) -> dict[str, tuple[str, ...]]:
    """The ``x-mcp-header`` properties of a tool's input schema: header name (lower case)
    to the path of the property it mirrors."""
    found: dict[str, tuple[str, ...]] = {}
    properties = schema.get("properties") if isinstance(schema, dict) else None
    for name, sub in (properties or {}).items():
        if not isinstance(sub, dict):
            continue
        header = sub.get("x-mcp-header")
        if isinstance(header, str):
            found[header.lower()] = (*path, name)
        found.update(header_params_of(sub, (*path, name)))
    return found
