"""JSON-RPC errors, each with the kind of failure it reports.

Codes follow the JSON-RPC 2.0 and MCP allocations: -32700..-32600 are JSON-RPC's own,
-32020..-32099 are reserved for the MCP spec. Nothing here uses -32000..-32019, which
older implementations used ad hoc.

An error says *what kind* of failure it is (``ErrorKind``), never an HTTP status: the HTTP
edge maps kinds to statuses and ``Retry-After`` in one place (``edgemcp.http.wire``), so
the protocol core stays free of HTTP.
"""

from enum import Enum
from typing import Any

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
HEADER_MISMATCH = -32020
MISSING_REQUIRED_CLIENT_CAPABILITY = -32021
UNSUPPORTED_PROTOCOL_VERSION = -32022
# Handshake-era resource-not-found; modern servers answer -32602 with data.uri instead.
RESOURCE_NOT_FOUND_LEGACY = -32002

# edgemcp's guard errors. The spec leaves these unstandardized; the codes sit outside the
# range JSON-RPC reserves (-32768..-32000) and echo the HTTP status they travel with.
UNAUTHENTICATED = -31401  # no or bad credentials; the challenge says how to authenticate
FORBIDDEN = -31403  # permanent denial (missing scope): do not retry
TOOL_DISABLED = -31423  # an operator switched the tool off: do not retry now
IDEMPOTENCY_CONFLICT = -31409  # key in use by a running call, or used with other arguments
RATE_LIMITED = -31429  # over budget: retry after data.retryAfterMs


class ErrorKind(Enum):
    """What kind of failure an error reports. ``ANSWER`` is an ordinary JSON-RPC error
    answer (the exchange itself went fine); the others refuse the request as a whole."""

    ANSWER = "answer"
    BAD_REQUEST = "bad-request"  # malformed, or headers and body disagree
    NOT_FOUND = "not-found"  # no such method (2026-07-28), session or task
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    CONFLICT = "conflict"
    RATE_LIMITED = "rate-limited"
    UNAVAILABLE = "unavailable"  # a service the server needs is down: retry later
    INTERNAL = "internal"
    BAD_GATEWAY = "bad-gateway"  # a server this one forwards to answered something unusable
    GATEWAY_TIMEOUT = "gateway-timeout"  # ... or did not answer in time


class MCPError(Exception):
    """A protocol error: becomes a JSON-RPC error response.

    ``kind`` says how the request failed as a whole; ``challenge`` is how to authenticate
    (an ``UNAUTHENTICATED`` or ``FORBIDDEN`` error of an identity guard).
    """

    def __init__(
        self,
        code: int,
        message: str,
        data: Any = None,
        *,
        kind: ErrorKind = ErrorKind.ANSWER,
        challenge: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data
        self.kind = kind
        self.challenge = challenge

    def to_error(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


class ServiceUnavailable(Exception):
    """A service the server depends on (its state store) cannot be reached. Raised by the
    adapters behind the core's ports; answered with ``unavailable()``."""


def unavailable() -> MCPError:
    """The one answer to "a service we depend on is down": the client may retry."""
    return MCPError(INTERNAL_ERROR, "Service unavailable: state store unreachable",
                    kind=ErrorKind.UNAVAILABLE)


def internal_error() -> MCPError:
    return MCPError(INTERNAL_ERROR, "Internal error", kind=ErrorKind.INTERNAL)


def invalid_request(message: str, kind: ErrorKind = ErrorKind.BAD_REQUEST) -> MCPError:
    return MCPError(INVALID_REQUEST, message, kind=kind)


def invalid_params(message: str, data: Any = None, kind: ErrorKind = ErrorKind.ANSWER) -> MCPError:
    return MCPError(INVALID_PARAMS, message, data, kind=kind)


def method_not_found(method: str, kind: ErrorKind = ErrorKind.ANSWER) -> MCPError:
    return MCPError(METHOD_NOT_FOUND, f"Method not found: {method}", kind=kind)


def header_mismatch(message: str) -> MCPError:
    return MCPError(HEADER_MISMATCH, f"Header mismatch: {message}", kind=ErrorKind.BAD_REQUEST)


def unsupported_version(requested: object, supported: tuple[str, ...]) -> MCPError:
    return MCPError(
        UNSUPPORTED_PROTOCOL_VERSION,
        "Unsupported protocol version",
        {"supported": list(supported), "requested": requested},
        kind=ErrorKind.BAD_REQUEST,
    )


def missing_capability(required: dict[str, Any]) -> MCPError:
    names = ", ".join(sorted(required))
    return MCPError(
        MISSING_REQUIRED_CLIENT_CAPABILITY,
        f"Client capability required: {names}",
        {"requiredCapabilities": required},
        kind=ErrorKind.BAD_REQUEST,
    )


def forbidden(message: str, data: Any = None, challenge: str | None = None) -> MCPError:
    return MCPError(FORBIDDEN, message, data, kind=ErrorKind.FORBIDDEN, challenge=challenge)


def unauthenticated(description: str, challenge: str) -> MCPError:
    return MCPError(UNAUTHENTICATED, f"Unauthorized: {description}", kind=ErrorKind.UNAUTHENTICATED,
                    challenge=challenge)


class ArgumentsError(ValueError):
    """The client's arguments do not fit the schema. The message is safe to show the model:
    it names fields and rules, never the values that were sent."""


class ToolError(Exception):
    """Raise inside a tool to return an ``isError`` result with this exact message.

    Any other exception also becomes an ``isError`` result, but with a generic message,
    so internals never reach the model.
    """
