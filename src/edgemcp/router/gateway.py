"""A gateway's catalog: the router's own tools, then every upstream's tools, prompts,
resources and templates, merged into one deterministic surface.

Each upstream's lists are fetched once and kept in the store for the upstream's ``ttlMs``
(at least ``min_list_ttl``), so calls are routed through a name → upstream map, never by
asking every upstream. Names pass through unchanged unless an upstream has a prefix; a
name two upstreams offer is a clash (refused at start-up) unless a route rule gives it to
one of them, or both offer the very same tool (replicas of one server): then, for a tool
of ``placement: any``, a call goes to the first that answers and fails over to the next.
"""

import asyncio
import fnmatch
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..protocol.caching import CachePolicy
from ..protocol.context import Context
from ..protocol.errors import METHOD_NOT_FOUND, ErrorKind, MCPError
from ..protocol.meta import CACHE, DRY_RUN, PLACEMENT
from ..protocol.ports import Completer, Offers, Prompt, Resource
from ..protocol.request import RequestInfo
from ..protocol.versions import LATEST_MODERN
from ..registry.policy import Placement
from ..registry.registry import Registry
from ..registry.tools import Tool
from ..runtime import ConfigurationError
from ..schema.lock import SECTIONS, item_digest, surface_digest
from ..store import Keyspace, StoreError
from .backed import RegistryBacked
from .client import UpstreamClient
from .remote import RemotePrompt, RemoteResource, RemoteTool
from .upstream import unreachable

log = logging.getLogger("edgemcp")

LISTS = (("tools", "tools/list"), ("prompts", "prompts/list"), ("resources", "resources/list"),
         ("resourceTemplates", "resources/templates/list"))
MAX_PAGES = 50
MEMO_SECONDS = 1.0  # how long one replica reuses the merged view before reading the store again
ROUTER_INFO = RequestInfo("modern", LATEST_MODERN)  # the router asking on its own behalf


@dataclass(slots=True)
class Surface:
    """The merged view at one moment."""

    tools: list[Tool] = field(default_factory=list)
    by_name: dict[str, Tool] = field(default_factory=dict)
    resources: dict[str, RemoteResource] = field(default_factory=dict)
    templates: list[tuple[str, RemoteResource]] = field(default_factory=list)
    prompts: dict[str, RemotePrompt] = field(default_factory=dict)
    owners: dict[tuple[str, str], UpstreamClient] = field(default_factory=dict)  # completion refs
    clashes: list[str] = field(default_factory=list)
    down: dict[str, str] = field(default_factory=dict)  # upstream -> why its lists are missing


class FailoverTool(Tool):
    """One tool offered by several upstreams (``placement: any``): the first that answers
    runs it; an unreachable or silent one is skipped (and marked down for the others)."""

    def __init__(self, candidates: list[RemoteTool]) -> None:
        first = candidates[0]
        super().__init__(first.definition, placement="any", cache=first.cache, dry_run=first.dry_run)
        self.candidates = candidates

    async def run(self, arguments: dict[str, Any], ctx: Context) -> dict[str, Any]:
        failure: MCPError | None = None
        for candidate in self.candidates:
            try:
                return await candidate.run(arguments, ctx)
            except MCPError as exc:
                if exc.kind not in (ErrorKind.UNAVAILABLE, ErrorKind.GATEWAY_TIMEOUT):
                    raise
                failure = exc
        assert failure is not None
        raise failure


def _policies(definition: dict[str, Any], default_placement: Placement) -> dict[str, Any]:
    """What an upstream's tool declares of edgemcp's policies (any MCP server may)."""
    given = definition.get("_meta")
    meta: dict[str, Any] = given if isinstance(given, dict) else {}
    placement = meta.get(PLACEMENT) if meta.get(PLACEMENT) in ("edge", "core", "any") else default_placement
    cached = meta.get(CACHE)
    cache = None
    if isinstance(cached, dict) and isinstance(cached.get("ttlMs"), int) and cached.get("scope") in ("public", "private"):
        cache = CachePolicy(cached["ttlMs"], cached["scope"])
    return {"placement": placement, "cache": cache, "dry_run": meta.get(DRY_RUN) is True}


class GatewayCatalog(RegistryBacked):
    def __init__(self, registry: Registry, clients: Sequence[UpstreamClient], keyspace: Keyspace, *,
                 routes: dict[str, str], min_list_ttl: float) -> None:
        super().__init__(registry)
        self.clients = list(clients)
        self.keyspace = keyspace
        self.routes = routes
        self.min_list_ttl = min_list_ttl
        self._memo: tuple[float, Surface] | None = None
        self._refreshing: dict[str, asyncio.Lock] = {c.upstream.name: asyncio.Lock() for c in self.clients}

    @property
    def offers(self) -> Offers:
        return Offers(tools=True, resources=True, prompts=True, completions=True)

    async def warm_up(self) -> None:
        """List every upstream now: a clash of names fails the start, not the first call."""
        fetched = await asyncio.gather(*(self._lists(client, fresh=True) for client in self.clients))
        surface = self._merge(fetched)  # an upstream that is down now is not a reason not to start
        if surface.clashes:
            raise ConfigurationError("tool names clash across upstreams: " + "; ".join(surface.clashes)
                                     + " (give an upstream a prefix, or add a route rule)")
        for name, why in surface.down.items():
            log.warning("router: upstream %s is not listed at start: %s", name, why)

    # -- the merged surface --------------------------------------------------------------
    async def surface(self) -> Surface:
        now = time.monotonic()
        if self._memo is not None and self._memo[0] > now:
            return self._memo[1]
        fetched = await asyncio.gather(*(self._lists(client, fresh=False) for client in self.clients))
        surface = self._merge(fetched)
        closed = [c.upstream.name for c in self.clients if c.upstream.failure == "closed" and c.upstream.name in surface.down]
        if closed:
            raise unreachable(closed[0], f"is unreachable and fails closed: {surface.down[closed[0]]}")
        self._memo = (now + MEMO_SECONDS, surface)
        return surface

    async def _lists(self, client: UpstreamClient, fresh: bool) -> tuple[UpstreamClient, dict[str, Any] | str]:
        """An upstream's lists from the store, else from the upstream; or why they are missing."""
        key = f"router-lists:{client.upstream.name}"
        async with self._refreshing[client.upstream.name]:  # one replica-local refresh at a time
            if not fresh:
                try:
                    cached = await self.keyspace.get(key)
                except StoreError:
                    cached = None
                if isinstance(cached, dict):
                    return client, cached
            try:
                lists, ttl_ms = await self._fetch(client)
            except MCPError as exc:
                log.warning("router: cannot list upstream %s: %s", client.upstream.name, exc.message)
                return client, exc.message
            try:
                await self.keyspace.set(key, lists, max(ttl_ms / 1000, self.min_list_ttl))
                await self._note_digest(client.upstream.name, lists)
            except StoreError:
                log.warning("router: the store is unavailable; %s's lists are not cached", client.upstream.name)
            return client, lists

    async def _note_digest(self, upstream: str, lists: dict[str, Any]) -> None:
        """Log and count a change of an upstream's surface (version skew behind the router)."""
        digest = surface_digest({section: {str(item.get(field)): item_digest(item) for item in lists.get(section, [])}
                                 for section, field in SECTIONS.items()})
        key = f"router-digest:{upstream}"
        previous = await self.keyspace.get(key)
        if previous == digest:
            return
        await self.keyspace.set(key, digest)
        if previous is not None:
            changes = await self.keyspace.incr(f"router-digest-changes:{upstream}")
            log.warning("router: upstream %s changed its surface (%s, change %d since it was first seen)",
                        upstream, digest, changes)

    async def _fetch(self, client: UpstreamClient) -> tuple[dict[str, Any], int]:
        lists: dict[str, Any] = {}
        ttl_ms = int(self.min_list_ttl * 1000)
        for key, method in LISTS:
            items: list[Any] = []
            cursor = None
            for _ in range(MAX_PAGES):
                try:
                    page = await client.call(method, {"cursor": cursor} if cursor else {}, None, ROUTER_INFO)
                except MCPError as exc:
                    if exc.code == METHOD_NOT_FOUND or (exc.kind is ErrorKind.ANSWER and key != "tools"):
                        break  # the upstream offers none of these
                    raise
                items += [item for item in page.get(key, []) if isinstance(item, dict)]
                if isinstance(page.get("ttlMs"), int):
                    ttl_ms = max(ttl_ms, page["ttlMs"])
                cursor = page.get("nextCursor")
                if not isinstance(cursor, str):
                    break
            lists[key] = items
        return lists, ttl_ms

    def _route(self, name: str) -> str | None:
        for pattern, upstream in self.routes.items():
            if fnmatch.fnmatchcase(name, pattern):
                return upstream
        return None

    def _merge(self, fetched: list[tuple[UpstreamClient, dict[str, Any] | str]]) -> Surface:
        surface = Surface()
        offered: dict[str, list[RemoteTool]] = {}
        for tool in self.registry.local_tools:
            surface.by_name[tool.name] = tool
            surface.tools.append(tool)
        for client, lists in fetched:
            upstream = client.upstream
            if isinstance(lists, str):
                surface.down[upstream.name] = lists
                continue
            for definition in lists.get("tools", []):
                original = definition.get("name")
                if not isinstance(original, str):
                    continue
                name = upstream.prefix + original
                routed = self._route(name)
                if routed is not None and routed != upstream.name:
                    continue  # a route rule gives this name to another upstream
                remote = RemoteTool({**definition, "name": name}, client, remote_name=original,
                                    **_policies(definition, upstream.placement))
                offered.setdefault(name, []).append(remote)
            for definition in lists.get("prompts", []):
                if isinstance(definition.get("name"), str):
                    name = upstream.prefix + definition["name"]
                    surface.prompts.setdefault(name, RemotePrompt({**definition, "name": name}, client,
                                                                  remote_name=definition["name"]))
                    surface.owners.setdefault(("ref/prompt", name), client)
            for definition in lists.get("resources", []):
                if isinstance(definition.get("uri"), str):
                    surface.resources.setdefault(definition["uri"], RemoteResource(definition, client))
                    surface.owners.setdefault(("ref/resource", definition["uri"]), client)
            for definition in lists.get("resourceTemplates", []):
                if isinstance(definition.get("uriTemplate"), str):
                    surface.templates.append((definition["uriTemplate"], RemoteResource(definition, client)))
                    surface.owners.setdefault(("ref/resource", definition["uriTemplate"]), client)
        for name, candidates in offered.items():
            if name in surface.by_name:
                surface.clashes.append(f"{name} (the router's own, and {candidates[0].client.upstream.name})")
                continue
            # The same tool (the same definition) from several upstreams is one tool served by
            # replicas; different tools under one name are a clash (the first is kept).
            same = len({item_digest(c.definition) for c in candidates}) == 1
            if not same:
                surface.clashes.append(f"{name} ({', '.join(c.client.upstream.name for c in candidates)})")
            replicas = same and len(candidates) > 1 and candidates[0].placement == "any"
            chosen: Tool = FailoverTool(candidates) if replicas else candidates[0]
            surface.by_name[name] = chosen
            surface.tools.append(chosen)
        return surface

    # -- tools (the pipeline's ToolSource) -----------------------------------------------
    async def list_tools(self) -> Sequence[Tool]:
        return (await self.surface()).tools

    async def get_tool(self, name: str) -> Tool | None:
        return (await self.surface()).by_name.get(name)

    def peek(self, name: str) -> Tool | None:
        memo = self._memo
        return memo[1].by_name.get(name) if memo is not None and memo[0] > time.monotonic() else None

    # -- resources, prompts, completions -------------------------------------------------
    async def list_resources(self) -> Sequence[Resource]:
        return [*await self.registry.list_resources(), *(await self.surface()).resources.values()]

    async def list_templates(self) -> Sequence[Resource]:
        return [*await self.registry.list_templates(), *(r for _, r in (await self.surface()).templates)]

    async def list_prompts(self) -> Sequence[Prompt]:
        return [*await self.registry.list_prompts(), *(await self.surface()).prompts.values()]

    async def find_resource(self, uri: str) -> tuple[Resource, dict[str, str]] | None:
        local = self.registry.match_resource(uri)
        if local is not None:
            return local
        surface = await self.surface()
        if uri in surface.resources:
            return surface.resources[uri], {}
        for template, resource in surface.templates:
            if _matches(template, uri):
                return resource, {}
        return None

    async def get_prompt(self, name: str) -> Prompt | None:
        return self.registry.prompts.get(name) or (await self.surface()).prompts.get(name)

    async def get_completer(self, kind: str, target: str) -> Completer | None:
        local = await self.registry.get_completer(kind, target)
        if local is not None:
            return local
        surface = await self.surface()
        owner = surface.owners.get((kind, target))
        if owner is None:
            return None
        remote_target = target
        if kind == "ref/prompt" and target in surface.prompts:
            remote_target = surface.prompts[target].remote_name

        async def complete(argument: str, value: str, context: dict[str, Any]) -> list[str]:
            ref = {"type": kind, ("name" if kind == "ref/prompt" else "uri"): remote_target}
            result = await owner.call("completion/complete", {
                "ref": ref, "argument": {"name": argument, "value": value}, "context": {"arguments": context}},
                None, ROUTER_INFO)
            values = result.get("completion", {}).get("values", [])
            return [str(v) for v in values] if isinstance(values, list) else []

        return complete


def _matches(template: str, uri: str) -> bool:
    """A URI fits an RFC 6570 level-1 template: each ``{var}`` stands for one segment."""
    pattern = re.escape(template)
    pattern = re.sub(r"\\\{[A-Za-z_][A-Za-z0-9_]*\\\}", "[^/]+", pattern)
    return re.fullmatch(pattern, uri) is not None
