"""The protocol core: one JSON-RPC request in, one JSON-RPC response out.

``Dispatcher.handle(message, info, services, channel)`` is a pure function of its
arguments: no HTTP, no store, no clock, no environment. Everything that does I/O arrives
through ``services`` (guards, state) and ``channel`` (the response stream); everything
known about the request arrives in ``info``. An error comes back as a JSON-RPC error and
the kind of failure it reports; the HTTP edge turns kinds into statuses.
"""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .context import LOG_LEVELS, Channel
from .errors import (
    ArgumentsError,
    ErrorKind,
    MCPError,
    ServiceUnavailable,
    internal_error,
    invalid_params,
    method_not_found,
    unavailable,
    unsupported_version,
)
from .exchange import Exchange
from .handlers import Handlers
from .lifecycle import Lifecycle
from .meta import CLIENT_CAPABILITIES, CLIENT_INFO, LOG_LEVEL, PROTOCOL_VERSION, SERVER_INFO
from .ports import Catalog, Services
from .request import RequestInfo
from .tasks import TaskHandlers
from .versions import MODERN_VERSIONS, SUPPORTED_VERSIONS, Era

log = logging.getLogger("edgemcp")

Handler = Callable[[Exchange], Awaitable[dict[str, Any]]]

# Methods each era knows; anything else is "method not found".
HANDSHAKE_ONLY = frozenset(
    {"initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe"}
)
MODERN_ONLY = frozenset({"server/discover", "tasks/get", "tasks/update", "tasks/cancel"})


@dataclass(slots=True)
class Reply:
    """The core's answer: the JSON-RPC response, and for an error the failure it reports."""

    response: dict[str, Any]
    error: MCPError | None = None
    failure: str | None = None  # a tool's failure its isError result does not tell apart


def response(request_id: Any, result: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def error_response(request_id: Any, error: MCPError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": error.to_error()}


def modern_meta(params: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any] | None, str | None]:
    """What a 2026-07-28 request declares in its ``_meta``: protocol version, client
    capabilities, client info and log level (validated; a bad one is a 400)."""
    meta = params.get("_meta")
    if not isinstance(meta, dict):
        raise invalid_params(f"params._meta with {PROTOCOL_VERSION} and {CLIENT_CAPABILITIES} is required",
                             kind=ErrorKind.BAD_REQUEST)
    version = meta.get(PROTOCOL_VERSION)
    if not isinstance(version, str):
        raise invalid_params(f"_meta[{PROTOCOL_VERSION!r}] is required", kind=ErrorKind.BAD_REQUEST)
    if version not in MODERN_VERSIONS:
        raise unsupported_version(version, SUPPORTED_VERSIONS)
    capabilities = meta.get(CLIENT_CAPABILITIES)
    if not isinstance(capabilities, dict):
        raise invalid_params(f"_meta[{CLIENT_CAPABILITIES!r}] must be an object", kind=ErrorKind.BAD_REQUEST)
    client_info = meta.get(CLIENT_INFO)
    if client_info is not None and not isinstance(client_info, dict):
        raise invalid_params(f"_meta[{CLIENT_INFO!r}] must be an object", kind=ErrorKind.BAD_REQUEST)
    level = meta.get(LOG_LEVEL)
    if level is not None and level not in LOG_LEVELS:
        raise invalid_params(f"_meta[{LOG_LEVEL!r}] must be one of {', '.join(LOG_LEVELS)}",
                             kind=ErrorKind.BAD_REQUEST)
    return version, capabilities, client_info, level


class Dispatcher:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        lifecycle, work, tasks = Lifecycle(catalog), Handlers(catalog), TaskHandlers()
        self.handlers: dict[str, Handler] = {
            "initialize": lifecycle.initialize,
            "ping": lifecycle.ping,
            "logging/setLevel": lifecycle.set_level,
            "resources/subscribe": lifecycle.subscribe,
            "resources/unsubscribe": lifecycle.subscribe,
            "server/discover": lifecycle.discover,
            "tools/list": work.list_tools,
            "tools/call": work.call_tool,
            "resources/list": work.list_resources,
            "resources/templates/list": work.list_templates,
            "resources/read": work.read_resource,
            "prompts/list": work.list_prompts,
            "prompts/get": work.get_prompt,
            "completion/complete": work.complete,
            "tasks/get": tasks.get,
            "tasks/update": tasks.update,
            "tasks/cancel": tasks.cancel,
        }

    def knows(self, method: str, era: Era) -> bool:
        if method not in self.handlers:
            return False
        return method not in (HANDSHAKE_ONLY if era == "modern" else MODERN_ONLY)

    async def handle(self, message: dict[str, Any], info: RequestInfo, services: Services[Any],
                     channel: Channel) -> Reply:
        """Answer one request."""
        request_id = message.get("id")
        method = message["method"]
        exchange = Exchange(request_id, message.get("params") or {}, info, services, channel)
        try:
            if not self.knows(method, info.era):
                raise method_not_found(method, ErrorKind.NOT_FOUND if info.modern else ErrorKind.ANSWER)
            result = await self.handlers[method](exchange)
        except MCPError as exc:
            return Reply(error_response(request_id, exc), exc)
        except ArgumentsError as exc:
            error = invalid_params(str(exc))
            return Reply(error_response(request_id, error), error)
        except ServiceUnavailable:
            log.warning("store unavailable while serving %s", method)
            error = unavailable()
            return Reply(error_response(request_id, error), error)
        except Exception as exc:
            # A bug in a handler: answer cleanly, log the type but not the message (it may
            # quote arguments), and keep the traceback for debug logging only.
            log.error("internal error in %s: %s", method, type(exc).__name__)
            log.debug("internal error in %s", method, exc_info=True)
            error = internal_error()
            return Reply(error_response(request_id, error), error)
        if info.modern:
            result.setdefault("resultType", "complete")
            result.setdefault("_meta", {})[SERVER_INFO] = self.catalog.server_info
        return Reply(response(request_id, result), None, exchange.failure)
