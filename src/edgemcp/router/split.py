"""One app split by placement: at the edge (``role="edge"``), what is placed on the core runs
there. The edge lists the app's own definitions (no upstream call), runs ``edge`` and
``any`` items itself, and forwards ``core`` ones to the core deployment: the same module,
deployed at the origin with ``role="core"``."""

import os
from collections.abc import Sequence

from ..guards.hop import HopAssertions, HopSigner, core_audience
from ..guards.identity import Identity
from ..protocol.ports import Completer, Offers, Prompt, Resource
from ..registry.registry import Registry
from ..registry.source import LocalTools
from ..registry.tools import Tool
from ..runtime import ConfigurationError, Foundation, Served
from ..settings import Settings
from .backed import RegistryBacked
from .client import UpstreamClient
from .health import Health
from .outbound import Outbound
from .remote import RemotePrompt, RemoteResource, RemoteTool
from .upstream import Upstream


class SplitTools:
    """The app's tools; those placed on the core run there."""

    def __init__(self, local: LocalTools, core: UpstreamClient) -> None:
        self.local = local
        self.remote = {tool.name: RemoteTool.of(tool, core) for tool in local if tool.placement == "core"}

    async def list_tools(self) -> Sequence[Tool]:
        return await self.local.list_tools()

    async def get_tool(self, name: str) -> Tool | None:
        return self.peek(name)

    def peek(self, name: str) -> Tool | None:
        return self.remote.get(name) or self.local.get(name)


class SplitCatalog(RegistryBacked):
    def __init__(self, registry: Registry, core: UpstreamClient) -> None:
        super().__init__(registry)
        self.core = core
        self.tools = SplitTools(registry.local_tools, core)

    @property
    def offers(self) -> Offers:
        return self.registry.offers

    async def list_resources(self) -> Sequence[Resource]:
        return await self.registry.list_resources()

    async def list_templates(self) -> Sequence[Resource]:
        return await self.registry.list_templates()

    async def list_prompts(self) -> Sequence[Prompt]:
        return await self.registry.list_prompts()

    async def find_resource(self, uri: str) -> tuple[Resource, dict[str, str]] | None:
        found = self.registry.match_resource(uri)
        if found is None or found[0].placement != "core":
            return found
        local, variables = found
        return RemoteResource(local.definition, self.core, local), variables

    async def get_prompt(self, name: str) -> Prompt | None:
        prompt = self.registry.prompts.get(name)
        if prompt is None or prompt.placement != "core":
            return prompt
        return RemotePrompt(prompt.definition, self.core, remote_name=name)

    async def get_completer(self, kind: str, target: str) -> Completer | None:
        return await self.registry.get_completer(kind, target)  # suggestions are cheap: made here


def serve_edge(registry: Registry, foundation: Foundation, settings: Settings, identity: Identity,
               outbound: Outbound | None) -> Served:
    """The edge of a split app: forwarding to the core deployment at ``core_url``."""
    core_url = settings.core_url or os.environ.get("EDGEMCP_CORE_URL")
    if not core_url:
        raise ConfigurationError("role 'edge' needs the core deployment's URL: set EDGEMCP_CORE_URL "
                                 "(e.g. https://origin.example.com/mcp) or EdgeMCP(core_url=...)")
    http = outbound or asgi_outbound()
    signer = HopSigner(hop_secret(settings, foundation), core_audience(foundation.name))
    core = Upstream("core", core_url, timeout=settings.core_timeout, era="modern")  # the same app: edgemcp
    client = UpstreamClient(core, http, foundation.keyspace,
                            Health(foundation.keyspace), hop_id=foundation.hop_id, signer=signer)
    catalog = SplitCatalog(registry, client)
    return Served(catalog, catalog.tools, identity, close=http.aclose)


def serve_core(registry: Registry, foundation: Foundation, settings: Settings, identity: Identity) -> Served:
    """The core of a split app: everything runs here, and the edge's assertion of who is
    calling is taken in place of the app's own authentication."""
    signer = HopSigner(hop_secret(settings, foundation), core_audience(foundation.name))
    trusting = Identity([HopAssertions(signer), *identity.authenticators], identity.required)
    return Served(registry, registry.local_tools, trusting)


def hop_secret(settings: Settings, foundation: Foundation) -> str | bytes:
    return settings.hop_secret or os.environ.get("EDGEMCP_HOP_SECRET") or foundation.secret


def asgi_outbound() -> Outbound:
    from .http1 import StreamOutbound  # httptools: on ASGI hosts, not in a Worker

    return StreamOutbound()
