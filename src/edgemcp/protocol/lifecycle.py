"""The methods around the real work: initialize (handshake era), server/discover
(2026-07-28), ping, logging/setLevel and resources/(un)subscribe."""

from typing import Any

from .caching import cacheable
from .context import LOG_LEVELS
from .errors import invalid_params
from .exchange import Exchange
from .meta import TASKS_EXTENSION
from .ports import Catalog
from .versions import SUPPORTED_VERSIONS, negotiate_handshake


def capabilities(catalog: Catalog, modern: bool) -> dict[str, Any]:
    offers = catalog.offers
    caps: dict[str, Any] = {"logging": {}}
    if offers.tools:
        caps["tools"] = {"listChanged": True} if modern else {}
    if offers.resources:
        caps["resources"] = {"listChanged": True, "subscribe": True} if modern else {"subscribe": True}
    if offers.prompts:
        caps["prompts"] = {"listChanged": True} if modern else {}
    if offers.completions:
        caps["completions"] = {}
    if modern and offers.tasks:
        # The 2025-11-25 tasks capability is another, incompatible wire: never offered.
        caps["extensions"] = {TASKS_EXTENSION: {}}
    return caps


class Lifecycle:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    async def initialize(self, request: Exchange) -> dict[str, Any]:
        result: dict[str, Any] = {
            "protocolVersion": negotiate_handshake(request.params.get("protocolVersion")),
            "capabilities": capabilities(self.catalog, modern=False),
            "serverInfo": self.catalog.server_info,
        }
        if self.catalog.instructions:
            result["instructions"] = self.catalog.instructions
        return result

    async def discover(self, request: Exchange) -> dict[str, Any]:
        result: dict[str, Any] = {
            "supportedVersions": list(SUPPORTED_VERSIONS),
            "capabilities": capabilities(self.catalog, modern=True),
        }
        if self.catalog.instructions:
            result["instructions"] = self.catalog.instructions
        return cacheable(result, self.catalog.list_ttl_ms, "public")

    async def ping(self, request: Exchange) -> dict[str, Any]:
        return {}

    async def set_level(self, request: Exchange) -> dict[str, Any]:
        # The HTTP edge keeps the level on the session once this succeeds.
        if request.params.get("level") not in LOG_LEVELS:
            raise invalid_params(f"level must be one of {', '.join(LOG_LEVELS)}")
        return {}

    async def subscribe(self, request: Exchange) -> dict[str, Any]:
        if not isinstance(request.params.get("uri"), str):
            raise invalid_params("uri must be a string")
        return {}
