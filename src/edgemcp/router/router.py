"""``Router``: a stateless gateway over any MCP servers, an ASGI app like ``EdgeMCP`` (its
guards, kill switches, rate limits, audit log and telemetry apply per tool), whose tools,
prompts and resources come from its upstreams, merged.

    router = Router(upstreams=["weather=https://weather.internal/mcp", "bank=https://bank.internal/mcp"])
    asgi = router.asgi()
"""

from collections.abc import Mapping, Sequence
from typing import Any

from ..app import EdgeMCP
from ..runtime import ConfigurationError, Foundation, Served
from .client import UpstreamClient
from .gateway import GatewayCatalog
from .health import Health
from .split import asgi_outbound
from .upstream import Upstream

DEFAULT_MIN_LIST_TTL = 30.0  # seconds: an upstream's lists are asked for at most this often


def parse_upstream(spec: str) -> Upstream:
    """``NAME=URL``."""
    name, sep, url = spec.partition("=")
    if not sep or not name or not url:
        raise ValueError(f"upstream {spec!r}: expected NAME=URL")
    return Upstream(name.strip(), url.strip())


class Router(EdgeMCP):
    def __init__(self, name: str = "edgemcp-router", version: str = "0.1.0", *,
                 upstreams: Sequence[Upstream | str], routes: Mapping[str, str] | None = None,
                 min_list_ttl: float = DEFAULT_MIN_LIST_TTL, **options: Any) -> None:
        super().__init__(name, version, **options)
        self.upstreams = [u if isinstance(u, Upstream) else parse_upstream(u) for u in upstreams]
        if not self.upstreams:
            raise ValueError("a router needs at least one upstream")
        names = [u.name for u in self.upstreams]
        if len(set(names)) != len(names):
            raise ValueError(f"upstream names must differ: {', '.join(names)}")
        self.routes = dict(routes or {})
        unknown = sorted(set(self.routes.values()) - set(names))
        if unknown:
            raise ValueError(f"route rules name no such upstream: {', '.join(unknown)}")
        self.min_list_ttl = min_list_ttl

    def _serve(self, foundation: Foundation) -> Served:
        if foundation.role != "all":
            raise ConfigurationError("a router has no split role: run it with EDGEMCP_ROLE unset")
        http = self._transport or asgi_outbound()
        health = Health(foundation.keyspace)
        clients = [UpstreamClient(upstream, http, foundation.keyspace, health, hop_id=foundation.hop_id)
                   for upstream in self.upstreams]
        catalog = GatewayCatalog(self.registry, clients, foundation.keyspace, routes=self.routes,
                                 min_list_ttl=self.min_list_ttl)
        return Served(catalog, catalog, self.identity, warm_up=catalog.warm_up, close=http.aclose)
