"""JSON-RPC errors, each with the HTTP status it travels with.

Codes follow the JSON-RPC 2.0 and MCP allocations: -32700..-32600 are JSON-RPC's own,
-32020..-32099 are reserved for the MCP spec. Nothing here uses -32000..-32019, which
older implementations used ad hoc.
"""

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
UNAUTHENTICATED = -31401  # HTTP 401: no or bad credentials; WWW-Authenticate says how
FORBIDDEN = -31403  # HTTP 403: permanent denial (missing scope): do not retry
TOOL_DISABLED = -31423  # HTTP 403: an operator switched the tool off: do not retry now
IDEMPOTENCY_CONFLICT = -31409  # HTTP 409: key in use by a running call, or other arguments
RATE_LIMITED = -31429  # HTTP 429 + Retry-After: over budget, retry after data.retryAfterMs


class MCPError(Exception):
    """A protocol error: becomes a JSON-RPC error response.

    ``status`` is the HTTP status the transport uses when this error answers a request
    on its own (validation before dispatch, or rules the spec ties to a status).
    """

    def __init__(
        self,
        code: int,
        message: str,
        data: Any = None,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data
        self.status = status
        self.headers = headers or {}

    def to_error(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def invalid_request(message: str, status: int = 400) -> MCPError:
    return MCPError(INVALID_REQUEST, message, status=status)


def invalid_params(message: str, data: Any = None, status: int = 200) -> MCPError:
    return MCPError(INVALID_PARAMS, message, data, status=status)


def method_not_found(method: str, status: int = 200) -> MCPError:
    return MCPError(METHOD_NOT_FOUND, f"Method not found: {method}", status=status)


def header_mismatch(message: str) -> MCPError:
    return MCPError(HEADER_MISMATCH, f"Header mismatch: {message}", status=400)


def unsupported_version(requested: object, supported: tuple[str, ...]) -> MCPError:
    return MCPError(
        UNSUPPORTED_PROTOCOL_VERSION,
        "Unsupported protocol version",
        {"supported": list(supported), "requested": requested},
        status=400,
    )


def missing_capability(required: dict[str, Any]) -> MCPError:
    names = ", ".join(sorted(required))
    return MCPError(
        MISSING_REQUIRED_CLIENT_CAPABILITY,
        f"Client capability required: {names}",
        {"requiredCapabilities": required},
        status=400,
    )


class ToolError(Exception):
    """Raise inside a tool to return an ``isError`` result with this exact message.

    Any other exception also becomes an ``isError`` result, but with a generic message,
    so internals never reach the model.
    """
