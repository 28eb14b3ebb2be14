"""The methods that do the work: list, call, read, get and complete."""

import hashlib
from collections.abc import Awaitable, Sequence
from typing import Any, Protocol

from .caching import cacheable
from .context import Context
from .errors import RESOURCE_NOT_FOUND_LEGACY, ErrorKind, MCPError, invalid_params, method_not_found
from .exchange import Exchange
from .meta import CACHE, DRY_RUN, IDEMPOTENCY_KEY, SCHEMA_DIGEST
from .mrtr import resumable, retried
from .pagination import paginate
from .ports import Catalog, ToolCall
from .task_policy import may_become_task

BYPASS = "bypass"  # _meta["dev.edgemcp/cache"] on a request: skip the result cache
INVALID_ARGUMENTS = "invalid-arguments"  # a tool's failure: its arguments did not validate


class Listed(Protocol):
    @property
    def definition(self) -> dict[str, Any]: ...
    @property
    def digest(self) -> str: ...


def list_digest(items: Sequence[Listed]) -> str:
    """One digest for a whole list (every page), from its items' own: a client that kept it
    can tell the list changed without comparing definitions."""
    joined = "\n".join(item.digest for item in items).encode()
    return "sha256:" + hashlib.sha256(joined).hexdigest()


def _arguments(params: dict[str, Any]) -> dict[str, Any]:
    arguments = params.get("arguments")
    if arguments is None:
        return {}
    if not isinstance(arguments, dict):
        raise invalid_params("params.arguments must be an object")
    return arguments


def _name(params: dict[str, Any]) -> str:
    name = params.get("name")
    if not isinstance(name, str):
        raise invalid_params("params.name must be a string")
    return name


class Handlers:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    # -- lists ---------------------------------------------------------------------------
    def _page(self, key: str, items: Sequence[Listed], request: Exchange) -> dict[str, Any]:
        page, following = paginate(items, request.params.get("cursor"), self.catalog.page_size)
        result: dict[str, Any] = {key: [item.definition for item in page],
                                  "_meta": {SCHEMA_DIGEST: list_digest(items)}}
        if following is not None:
            result["nextCursor"] = following
        if request.info.modern:
            scope = "private" if self.catalog.private_lists else "public"
            cacheable(result, self.catalog.list_ttl_ms, scope)
        return result

    async def list_tools(self, request: Exchange) -> dict[str, Any]:
        tools = await request.services.list_tools(request.info)
        return self._page("tools", tools, request)

    async def list_resources(self, request: Exchange) -> dict[str, Any]:
        return self._page("resources", await self.catalog.list_resources(), request)

    async def list_templates(self, request: Exchange) -> dict[str, Any]:
        return self._page("resourceTemplates", await self.catalog.list_templates(), request)

    async def list_prompts(self, request: Exchange) -> dict[str, Any]:
        return self._page("prompts", await self.catalog.list_prompts(), request)

    # -- work ----------------------------------------------------------------------------
    async def call_tool(self, request: Exchange) -> dict[str, Any]:
        params, info = request.params, request.info
        name = _name(params)
        tool = await request.services.get_tool(name)
        if tool is None:
            raise invalid_params(f"Unknown tool: {name}")
        arguments = _arguments(params)
        given_meta = params.get("_meta")
        meta: dict[str, Any] = given_meta if isinstance(given_meta, dict) else {}
        dry_run = meta.get(DRY_RUN) is True
        again = retried(params)
        call = ToolCall(tool, arguments, info, dry_run=dry_run, retried=again,
                        idempotency_key=meta.get(IDEMPOTENCY_KEY, info.idempotency_key),
                        cache_bypass=info.cache_bypass or meta.get(CACHE) == BYPASS)

        # A tool that starts its task itself (ctx.start_task) may do so only for a client
        # that can take a task handle.
        explicit = tool.task is not None and tool.task.start == "explicit"
        startable = explicit and may_become_task(tool.task, info, dry_run)

        def run() -> Awaitable[dict[str, Any]]:
            return resumable(request, "tools/call", name, arguments, lambda ctx: tool.run(arguments, ctx),
                             dry_run=dry_run, may_start_task=startable)

        result = await request.services.call_tool(call, run)
        if request.failure == INVALID_ARGUMENTS and CACHE in result.get("_meta", ()):
            # Arguments that fail validation describe no call the cache could keep or serve:
            # the result carries no cache status ("miss" would say the cache looked and ran it).
            result["_meta"] = {k: v for k, v in result["_meta"].items() if k != CACHE}
        if tool.cache is not None and info.modern and "resultType" not in result:
            fresh = not again and not result.get("isError")
            cacheable(result, tool.cache.ttl_ms if fresh else 0, tool.cache.scope)
        return result

    async def read_resource(self, request: Exchange) -> dict[str, Any]:
        params, info = request.params, request.info
        uri = params.get("uri")
        if not isinstance(uri, str):
            raise invalid_params("params.uri must be a string")
        found = await self.catalog.find_resource(uri)
        if found is None:
            if info.modern:
                raise invalid_params(f"Resource not found: {uri}", {"uri": uri})
            raise MCPError(RESOURCE_NOT_FOUND_LEGACY, f"Resource not found: {uri}", {"uri": uri})
        resource, variables = found

        async def read(ctx: Context) -> dict[str, Any]:
            return {"contents": await resource.read(uri, variables, ctx)}

        result = await resumable(request, "resources/read", uri, {}, read)
        if info.modern and "resultType" not in result:
            policy = resource.cache
            ttl = 0 if policy is None or retried(params) else policy.ttl_ms
            cacheable(result, ttl, policy.scope if policy else "private")
        return result

    async def get_prompt(self, request: Exchange) -> dict[str, Any]:
        params = request.params
        name = _name(params)
        prompt = await self.catalog.get_prompt(name)
        if prompt is None:
            raise invalid_params(f"Unknown prompt: {name}")
        arguments = params.get("arguments") or {}
        if not isinstance(arguments, dict):
            raise invalid_params("params.arguments must be an object")
        return await resumable(request, "prompts/get", name, arguments, lambda ctx: prompt.render(arguments, ctx))

    async def complete(self, request: Exchange) -> dict[str, Any]:
        if not self.catalog.offers.completions:
            # Answered only where advertised (capabilities.completions): a server with nothing
            # to complete says so, rather than answering every request with no values.
            raise method_not_found("completion/complete",
                                   ErrorKind.NOT_FOUND if request.info.modern else ErrorKind.ANSWER)
        params = request.params
        ref = params.get("ref")
        argument = params.get("argument")
        if not isinstance(ref, dict) or not isinstance(argument, dict):
            raise invalid_params("params.ref and params.argument must be objects")
        kind = ref.get("type")
        target = ref.get("name") if kind == "ref/prompt" else ref.get("uri")
        if kind not in ("ref/prompt", "ref/resource") or not isinstance(target, str):
            raise invalid_params("params.ref must be a ref/prompt with a name or a ref/resource with a uri")
        if kind == "ref/prompt" and await self.catalog.get_prompt(target) is None:
            raise invalid_params(f"Unknown prompt: {target}")
        name, value = argument.get("name"), argument.get("value", "")
        if not isinstance(name, str) or not isinstance(value, str):
            raise invalid_params("params.argument needs string name and value")
        context = params.get("context") or {}
        supplied = context.get("arguments") if isinstance(context, dict) else None
        completer = await self.catalog.get_completer(kind, target)
        values: list[str] = []
        if completer is not None:
            produced = completer(name, value, supplied if isinstance(supplied, dict) else {})
            if hasattr(produced, "__await__"):
                produced = await produced
            values = [str(v) for v in produced]
        return {"completion": {"values": values[:100], "total": len(values), "hasMore": len(values) > 100}}
