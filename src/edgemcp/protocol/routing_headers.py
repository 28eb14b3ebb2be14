"""The headers a 2026-07-28 request mirrors its method, target and arguments in (SEP-2243):
which methods name a target, which arguments a tool's input schema marks ``x-mcp-header``,
and how a value is written there. One home for the client side (the router, the CLI, the
test client) and the server's check (edgemcp.http.modern)."""

import base64
from typing import Any

# The methods whose target travels in Mcp-Name, and the param it mirrors (the task id for
# the tasks extension's methods, SEP-2663).
NAMED_METHODS = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri",
                 "tasks/get": "taskId", "tasks/update": "taskId", "tasks/cancel": "taskId"}


def mirrored_params(schema: Any, path: tuple[str, ...] = ()) -> dict[str, tuple[str, ...]]:
    """The ``x-mcp-header`` properties of an input schema: header name (lower case) to the
    path of the property it mirrors."""
    found: dict[str, tuple[str, ...]] = {}
    properties = schema.get("properties") if isinstance(schema, dict) else None
    for name, sub in (properties if isinstance(properties, dict) else {}).items():
        if not isinstance(sub, dict):
            continue
        header = sub.get("x-mcp-header")
        if isinstance(header, str):
            found[header.lower()] = (*path, name)
        found.update(mirrored_params(sub, (*path, name)))
    return found


def argument_at(arguments: Any, path: tuple[str, ...]) -> Any:
    """The argument at ``path`` (None where any step is missing)."""
    value = arguments
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def encode_header_value(value: str) -> str:
    """A routing header's value: as is when it is plain visible ASCII, else base64."""
    if value.isascii() and value.isprintable() and value == value.strip():
        return value
    return "=?base64?" + base64.b64encode(value.encode()).decode("ascii") + "?="


def param_headers(header_params: dict[str, tuple[str, ...]], arguments: Any) -> dict[str, str]:
    """The ``Mcp-Param-*`` headers for a call's arguments (an absent argument sends none)."""
    headers: dict[str, str] = {}
    for header, path in header_params.items():
        value = argument_at(arguments, path)
        if value is not None:
            text = ("true" if value else "false") if isinstance(value, bool) else str(value)
            headers[f"mcp-param-{header}"] = encode_header_value(text)
    return headers


def routing_headers(version: str, method: str, params: dict[str, Any],
                    header_params: dict[str, tuple[str, ...]] | None = None) -> dict[str, str]:
    """The routing headers of a request: protocol version, method, the target's name, and
    the ``Mcp-Param-*`` mirrors of the ``x-mcp-header`` arguments in ``header_params``."""
    headers = {"mcp-protocol-version": version, "mcp-method": method}
    field = NAMED_METHODS.get(method)
    if field is not None and isinstance(params.get(field), str):
        headers["mcp-name"] = encode_header_value(params[field])
    if header_params:
        headers.update(param_headers(header_params, params.get("arguments")))
    return headers
