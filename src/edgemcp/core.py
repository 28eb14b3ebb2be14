"""The protocol core: one JSON-RPC request in, one JSON-RPC response out.

No HTTP and no I/O of its own. Everything it needs arrives in ``RequestInfo`` (built by
the transport from headers, ``_meta`` or the session) and the ``Channel`` (where
notifications and handshake-era server-to-client requests go).
"""

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .cache import CACHE_META
from .context import LOG_LEVELS, Channel, Context, InputRequired, RequestInfo
from .errors import (
    INTERNAL_ERROR,
    RESOURCE_NOT_FOUND_LEGACY,
    MCPError,
    invalid_params,
    method_not_found,
    unsupported_version,
)
from .guards.idempotency import META_KEY as IDEMPOTENCY_META
from .pagination import paginate
from .request_state import request_digest
from .signature import ArgumentsError
from .store import StoreError
from .tools import META_PREFIX
from .versions import MODERN_VERSIONS, SUPPORTED_VERSIONS, negotiate_handshake

if TYPE_CHECKING:
    from .app import EdgeMCP

log = logging.getLogger("edgemcp")

PROTOCOL_VERSION = "io.modelcontextprotocol/protocolVersion"
CLIENT_INFO = "io.modelcontextprotocol/clientInfo"
CLIENT_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
LOG_LEVEL = "io.modelcontextprotocol/logLevel"
SERVER_INFO = "io.modelcontextprotocol/serverInfo"
DRY_RUN = f"{META_PREFIX}dryRun"

Handler = Callable[[dict[str, Any], RequestInfo, Channel, Any], Awaitable[dict[str, Any]]]

# Methods each era knows; anything else is "method not found".
HANDSHAKE_ONLY = frozenset(
    {"initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe"}
)
MODERN_ONLY = frozenset({"server/discover"})


def modern_request_info(params: dict[str, Any]) -> RequestInfo:
    """Validate the per-request ``_meta`` of a 2026-07-28 request."""
    meta = params.get("_meta")
    if not isinstance(meta, dict):
        raise invalid_params(
            f"params._meta with {PROTOCOL_VERSION} and {CLIENT_CAPABILITIES} is required",
            status=400,
        )
    version = meta.get(PROTOCOL_VERSION)
    if not isinstance(version, str):
        raise invalid_params(f"_meta[{PROTOCOL_VERSION!r}] is required", status=400)
    if version not in MODERN_VERSIONS:
        raise unsupported_version(version, SUPPORTED_VERSIONS)
    capabilities = meta.get(CLIENT_CAPABILITIES)
    if not isinstance(capabilities, dict):
        raise invalid_params(f"_meta[{CLIENT_CAPABILITIES!r}] must be an object", status=400)
    client_info = meta.get(CLIENT_INFO)
    if client_info is not None and not isinstance(client_info, dict):
        raise invalid_params(f"_meta[{CLIENT_INFO!r}] must be an object", status=400)
    level = meta.get(LOG_LEVEL)
    if level is not None and level not in LOG_LEVELS:
        raise invalid_params(f"_meta[{LOG_LEVEL!r}] must be one of {', '.join(LOG_LEVELS)}",
                             status=400)
    return RequestInfo("modern", version, capabilities, client_info, level)


def response(request_id: Any, result: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def error_response(request_id: Any, error: MCPError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": error.to_error()}


class Core:
    def __init__(self, app: "EdgeMCP") -> None:
        self.app = app
        self.handlers: dict[str, Handler] = {
            "initialize": self._initialize,
            "ping": self._empty,
            "logging/setLevel": self._set_level,
            "resources/subscribe": self._subscribe,
            "resources/unsubscribe": self._subscribe,
            "server/discover": self._discover,
            "tools/list": self._list_tools,
            "tools/call": self._call_tool,
            "resources/list": self._list_resources,
            "resources/templates/list": self._list_templates,
            "resources/read": self._read_resource,
            "prompts/list": self._list_prompts,
            "prompts/get": self._get_prompt,
            "completion/complete": self._complete,
        }

    def knows(self, method: str, modern: bool) -> bool:
        if method not in self.handlers:
            return False
        return method not in (HANDSHAKE_ONLY if modern else MODERN_ONLY)

    async def handle(
        self, message: dict[str, Any], info: RequestInfo, channel: Channel
    ) -> tuple[dict[str, Any], int, dict[str, str]]:
        """Answer one request: the JSON-RPC response, and the HTTP status and headers it
        should carry if it is the whole response (they matter for errors: 429, 503...)."""
        request_id = message.get("id")
        modern = info.era == "modern"
        method = message["method"]
        try:
            if not self.knows(method, modern):
                raise method_not_found(method, status=404 if modern else 200)
            params = message.get("params") or {}
            result = await self.handlers[method](params, info, channel, request_id)
        except MCPError as exc:
            return error_response(request_id, exc), exc.status, exc.headers
        except ArgumentsError as exc:
            return error_response(request_id, invalid_params(str(exc))), 200, {}
        except StoreError:
            log.warning("store unavailable while serving %s", method)
            unavailable = MCPError(INTERNAL_ERROR, "Service temporarily unavailable: state store unreachable", status=503)
            return error_response(request_id, unavailable), 503, {"retry-after": "5"}
        except Exception as exc:
            # A bug in a handler: answer cleanly, log the type but not the message (it may
            # quote arguments), and keep the traceback for debug logging only.
            log.error("internal error in %s: %s", method, type(exc).__name__)
            log.debug("internal error in %s", method, exc_info=True)
            return error_response(request_id, MCPError(INTERNAL_ERROR, "Internal error")), 500, {}
        if modern:
            result.setdefault("resultType", "complete")
            result.setdefault("_meta", {})[SERVER_INFO] = self.app.server_info
        return response(request_id, result), 200, {}

    # -- lifecycle and utilities ---------------------------------------------------------
    def capabilities(self, modern: bool) -> dict[str, Any]:
        app = self.app
        caps: dict[str, Any] = {"logging": {}}
        if app.tools:
            caps["tools"] = {"listChanged": True} if modern else {}
        if app.resources or app.templates:
            caps["resources"] = {"listChanged": True, "subscribe": True} if modern else {"subscribe": True}
        if app.prompts:
            caps["prompts"] = {"listChanged": True} if modern else {}
        if app.completers:
            caps["completions"] = {}
        return caps

    async def _initialize(self, params: dict[str, Any], info: RequestInfo, *_: Any) -> dict[str, Any]:
        result: dict[str, Any] = {
            "protocolVersion": negotiate_handshake(params.get("protocolVersion")),
            "capabilities": self.capabilities(modern=False),
            "serverInfo": self.app.server_info,
        }
        if self.app.instructions:
            result["instructions"] = self.app.instructions
        return result

    async def _discover(self, params: dict[str, Any], info: RequestInfo, *_: Any) -> dict[str, Any]:
        result: dict[str, Any] = {
            "supportedVersions": list(SUPPORTED_VERSIONS),
            "capabilities": self.capabilities(modern=True),
        }
        if self.app.instructions:
            result["instructions"] = self.app.instructions
        return self._cacheable(result, self.app.list_ttl_ms, "public")

    async def _empty(self, *_: Any) -> dict[str, Any]:
        return {}

    async def _set_level(self, params: dict[str, Any], *_: Any) -> dict[str, Any]:
        # The transport persists the level on the session once this succeeds.
        if params.get("level") not in LOG_LEVELS:
            raise invalid_params(f"level must be one of {', '.join(LOG_LEVELS)}")
        return {}

    async def _subscribe(self, params: dict[str, Any], *_: Any) -> dict[str, Any]:
        if not isinstance(params.get("uri"), str):
            raise invalid_params("uri must be a string")
        return {}

    # -- lists ---------------------------------------------------------------------------
    def _cacheable(self, result: dict[str, Any], ttl_ms: int, scope: str) -> dict[str, Any]:
        result["ttlMs"] = ttl_ms
        result["cacheScope"] = scope
        return result

    def _page(
        self, key: str, items: list[dict[str, Any]], params: dict[str, Any], info: RequestInfo
    ) -> dict[str, Any]:
        page, following = paginate(items, params.get("cursor"), self.app.page_size)
        result: dict[str, Any] = {key: list(page)}
        if following is not None:
            result["nextCursor"] = following
        if info.era == "modern":
            # With authentication, lists may differ per caller: never share them.
            scope = "private" if self.app.authenticators else "public"
            self._cacheable(result, self.app.list_ttl_ms, scope)
        return result

    async def _list_tools(self, params: dict[str, Any], info: RequestInfo, *_: Any) -> dict[str, Any]:
        guards = self.app.runtime.guards
        visible = [t.definition for t in self.app.tools.values()
                   if await guards.visible(t, info.principal)]
        return self._page("tools", visible, params, info)

    async def _list_resources(self, params: dict[str, Any], info: RequestInfo, *_: Any) -> dict[str, Any]:
        return self._page("resources", [r.definition for r in self.app.resources.values()], params, info)

    async def _list_templates(self, params: dict[str, Any], info: RequestInfo, *_: Any) -> dict[str, Any]:
        return self._page("resourceTemplates", [t.definition for t in self.app.templates], params, info)

    async def _list_prompts(self, params: dict[str, Any], info: RequestInfo, *_: Any) -> dict[str, Any]:
        return self._page("prompts", [p.definition for p in self.app.prompts.values()], params, info)

    # -- calls that may ask the client for input -----------------------------------------
    async def _resumable(
        self,
        method: str,
        target: str,
        arguments: dict[str, Any],
        params: dict[str, Any],
        info: RequestInfo,
        channel: Channel,
        request_id: Any,
        run: Callable[[Context], Awaitable[dict[str, Any]]],
        *,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """Run ``run`` with a Context; in the modern era, resume from and answer with MRTR."""
        meta = params.get("_meta")
        progress_token = meta.get("progressToken") if isinstance(meta, dict) else None
        answers: dict[str, Any] = {}
        state: dict[str, Any] = {}
        modern = info.era == "modern"
        if modern:
            if "requestState" in params:
                answers, state = self.app.runtime.sealer.open(
                    params["requestState"], info.principal.key,
                    request_digest(method, target, arguments),
                )
            responses = params.get("inputResponses")
            if responses is not None:
                if not isinstance(responses, dict):
                    raise invalid_params("inputResponses must be an object")
                answers.update(responses)
        ctx = Context(info, channel, request_id=request_id, progress_token=progress_token,
                      answers=answers, state=state, dry_run=dry_run)
        try:
            return await run(ctx)
        except InputRequired as needed:
            return {
                "resultType": "input_required",
                "inputRequests": {key: r.wire() for key, r in needed.requests.items()},
                "requestState": self.app.runtime.sealer.seal(
                    info.principal.key, request_digest(method, target, arguments),
                    ctx.answers, ctx.state,
                ),
            }

    async def _call_tool(
        self, params: dict[str, Any], info: RequestInfo, channel: Channel, request_id: Any
    ) -> dict[str, Any]:
        name = params.get("name")
        if not isinstance(name, str):
            raise invalid_params("params.name must be a string")
        tool = self.app.tools.get(name)
        if tool is None:
            raise invalid_params(f"Unknown tool: {name}")
        arguments = params.get("arguments")
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            raise invalid_params("params.arguments must be an object")
        runtime = self.app.runtime
        await runtime.guards.admit(tool, info)
        given_meta = params.get("_meta")
        meta: dict[str, Any] = given_meta if isinstance(given_meta, dict) else {}
        dry_run = meta.get(DRY_RUN) is True
        if dry_run and not tool.dry_run:
            raise invalid_params(f"Tool '{name}' does not support dry runs")

        def run() -> Awaitable[dict[str, Any]]:
            return self._resumable(
                "tools/call", name, arguments, params, info, channel, request_id,
                lambda ctx: tool.call(arguments, ctx), dry_run=dry_run,
            )

        retried = "requestState" in params or "inputResponses" in params
        idempotency_key = meta.get(IDEMPOTENCY_META, info.idempotency_key)
        if dry_run or retried:
            result = await run()
        elif idempotency_key is not None:
            result = await runtime.guards.idempotency.run(
                idempotency_key, name, arguments, info.principal, run)
        elif tool.cache is None:
            result = await run()
        else:
            bypass = info.cache_bypass or meta.get(CACHE_META) == "bypass"
            result = await runtime.cache.call(tool, arguments, info.principal, bypass, run)
        if tool.cache is not None and info.era == "modern" and "resultType" not in result:
            fresh = not retried and not result.get("isError")
            self._cacheable(result, tool.cache.ttl_ms if fresh else 0, tool.cache.scope)
        return result

    async def _read_resource(
        self, params: dict[str, Any], info: RequestInfo, channel: Channel, request_id: Any
    ) -> dict[str, Any]:
        uri = params.get("uri")
        if not isinstance(uri, str):
            raise invalid_params("params.uri must be a string")
        found = self.app.find_resource(uri)
        if found is None:
            if info.era == "modern":
                raise invalid_params(f"Resource not found: {uri}", {"uri": uri})
            raise MCPError(RESOURCE_NOT_FOUND_LEGACY, f"Resource not found: {uri}", {"uri": uri})
        resource, variables = found

        async def read(ctx: Context) -> dict[str, Any]:
            return {"contents": await resource.read(uri, variables, ctx)}

        result = await self._resumable(
            "resources/read", uri, {}, params, info, channel, request_id, read
        )
        if info.era == "modern" and "resultType" not in result:
            policy = resource.cache
            retried = "requestState" in params or "inputResponses" in params
            ttl = 0 if policy is None or retried else policy.ttl_ms
            self._cacheable(result, ttl, policy.scope if policy else "private")
        return result

    async def _get_prompt(
        self, params: dict[str, Any], info: RequestInfo, channel: Channel, request_id: Any
    ) -> dict[str, Any]:
        name = params.get("name")
        if not isinstance(name, str):
            raise invalid_params("params.name must be a string")
        prompt = self.app.prompts.get(name)
        if prompt is None:
            raise invalid_params(f"Unknown prompt: {name}")
        arguments = params.get("arguments") or {}
        if not isinstance(arguments, dict):
            raise invalid_params("params.arguments must be an object")
        return await self._resumable(
            "prompts/get", name, arguments, params, info, channel, request_id,
            lambda ctx: prompt.render(arguments, ctx),
        )

    async def _complete(self, params: dict[str, Any], info: RequestInfo, *_: Any) -> dict[str, Any]:
        ref = params.get("ref")
        argument = params.get("argument")
        if not isinstance(ref, dict) or not isinstance(argument, dict):
            raise invalid_params("params.ref and params.argument must be objects")
        kind = ref.get("type")
        target = ref.get("name") if kind == "ref/prompt" else ref.get("uri")
        if kind not in ("ref/prompt", "ref/resource") or not isinstance(target, str):
            raise invalid_params("params.ref must be a ref/prompt with a name or a ref/resource with a uri")
        if kind == "ref/prompt" and target not in self.app.prompts:
            raise invalid_params(f"Unknown prompt: {target}")
        name, value = argument.get("name"), argument.get("value", "")
        if not isinstance(name, str) or not isinstance(value, str):
            raise invalid_params("params.argument needs string name and value")
        context = params.get("context") or {}
        supplied = context.get("arguments") if isinstance(context, dict) else None
        completer = self.app.completers.get((kind, target))
        values: list[str] = []
        if completer is not None:
            produced = completer(name, value, supplied if isinstance(supplied, dict) else {})
            if hasattr(produced, "__await__"):
                produced = await produced
            values = [str(v) for v in produced]
        return {"completion": {"values": values[:100], "total": len(values), "hasMore": len(values) > 100}}
