"""Production guards, enforced where the data lives and never left to the model:

identity (bearer tokens, OAuth 2.1, mutual TLS), per-tool scopes, two-layer rate limits,
kill switches, idempotency keys and dry runs. ``Guards`` is what the protocol core asks
before it runs a tool; everything it needs lives in the store.
"""

from typing import TYPE_CHECKING, Any

from ..errors import FORBIDDEN, MCPError
from ..principal import HTTPRequest, Principal
from ..store import Keyspace
from .idempotency import Idempotency
from .identity import Authenticator, BearerTokens, MutualTLS, unauthenticated
from .killswitch import KillSwitches
from .ratelimit import Rate, RateLimiter

if TYPE_CHECKING:
    from ..context import RequestInfo
    from ..tools import Tool

__all__ = [
    "Authenticator", "BearerTokens", "Guards", "Idempotency", "KillSwitches", "MutualTLS",
    "Rate", "RateLimiter", "authenticate",
]


async def authenticate(authenticators: list[Any], request: HTTPRequest, required: bool,
                       challenge: str) -> Principal:
    """The first principal an authenticator recognises; 401 if none and one is required."""
    for authenticator in authenticators:
        found = await authenticator.authenticate(request)
        if found is not None:
            return found  # type: ignore[no-any-return]
    if required:
        raise MCPError(-31401, "Unauthorized: credentials required", status=401,
                       headers={"www-authenticate": challenge})
    return Principal()


class Guards:
    def __init__(self, keyspace: Keyspace, *, agent_rate: Rate | None, kill_switch_refresh: float,
                 idempotency_ttl: float, oauth: Any = None) -> None:
        self.kill_switches = KillSwitches(keyspace, kill_switch_refresh)
        self.rate_limiter = RateLimiter(keyspace, agent_rate)
        self.idempotency = Idempotency(keyspace, idempotency_ttl)
        self.oauth = oauth
        self.agent_rate = agent_rate

    @staticmethod
    def permitted(tool: "Tool", principal: Principal) -> bool:
        return tool.scopes <= principal.scopes

    async def visible(self, tool: "Tool", principal: Principal) -> bool:
        return self.permitted(tool, principal) and (
            await self.kill_switches.reason(tool.name, tool.placement) is None
        )

    async def admit(self, tool: "Tool", info: "RequestInfo") -> None:
        """Kill switch, then scopes, then rate limits: a call refused for a permanent reason
        never spends budget."""
        await self.kill_switches.check(tool.name, tool.placement)
        if not self.permitted(tool, info.principal):
            missing = sorted(tool.scopes - info.principal.scopes)
            if self.oauth is not None:
                raise self.oauth.insufficient_scope(missing, tool.name)
            raise MCPError(FORBIDDEN, f"Forbidden: tool '{tool.name}' needs scope {' '.join(missing)}",
                           {"requiredScopes": missing}, status=403)
        if self.agent_rate is not None or tool.rate is not None:
            await self.rate_limiter.check(tool.name, tool.rate, info.principal, info.client)


__all__ += ["unauthenticated"]
