"""What a client puts on the wire besides the body (the headers of each era; the routing
headers come from edgemcp.protocol.routing_headers), and the error a JSON-RPC error
response (or a bare HTTP failure) becomes."""

from typing import Any

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
