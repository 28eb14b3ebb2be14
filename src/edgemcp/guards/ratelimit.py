"""Two-layer token-bucket rate limits: per agent (runaway agents) and per tool (expensive
tools). A call passes only when both layers have budget. Buckets live in the store and
change atomically (a Redis script; the memory store for development)."""

import hashlib

from ..protocol.errors import RATE_LIMITED, ErrorKind, MCPError
from ..protocol.principal import Principal
from ..registry.policy import Rate
from ..store import Keyspace


def _who(principal: Principal, client: str | None) -> str:
    raw = principal.key if principal.authenticated else f"ip:{client or 'unknown'}"
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


class RateLimiter:
    def __init__(self, keyspace: Keyspace, agent_rate: Rate | None) -> None:
        self.keyspace = keyspace
        self.agent_rate = agent_rate

    async def check(self, tool: str, tool_rate: Rate | None, principal: Principal,
                    client: str | None) -> None:
        """Take one token from each layer that applies, or raise 429 (refunding any taken)."""
        who = _who(principal, client)
        taken: list[tuple[str, Rate]] = []
        layers: list[tuple[str, str, Rate]] = []
        if self.agent_rate is not None:
            layers.append(("agent", f"rate:agent:{who}", self.agent_rate))
        if tool_rate is not None:
            scope = who if tool_rate.per == "agent" else "all"
            layers.append(("tool", f"rate:tool:{tool}:{scope}", tool_rate))
        for layer, key, rate in layers:
            wait = await self.keyspace.take(key, rate.limit, rate.per_second)
            if wait > 0:
                for refund_key, refund_rate in taken:
                    await self.keyspace.take(refund_key, refund_rate.limit, refund_rate.per_second, -1)
                raise rate_limited(layer, tool, rate, wait)
            taken.append((key, rate))


def rate_limited(layer: str, tool: str, rate: Rate, wait: float) -> MCPError:
    retry_ms = max(1, int(wait * 1000 + 0.999))
    return MCPError(
        RATE_LIMITED,
        f"Rate limited: the {layer} budget for '{tool}' ({rate.describe()}) is spent; "
        f"retry in {retry_ms} ms",
        {"layer": layer, "limit": rate.limit, "periodSeconds": rate.period, "retryAfterMs": retry_ms},
        kind=ErrorKind.RATE_LIMITED,
    )


class SessionLimiter:
    """New handshake-era sessions per principal (anonymous callers: per client address), a
    token bucket in the store: an ``initialize`` flood gets 429 + ``Retry-After`` instead
    of filling the store with sessions."""

    def __init__(self, keyspace: Keyspace, rate: Rate) -> None:
        self.keyspace = keyspace
        self.rate = rate

    async def check(self, principal: Principal, client: str | None) -> None:
        rate = self.rate
        wait = await self.keyspace.take(f"rate:session:{_who(principal, client)}", rate.limit, rate.per_second)
        if wait > 0:
            retry_ms = max(1, int(wait * 1000 + 0.999))
            raise MCPError(
                RATE_LIMITED, f"Too many new sessions ({rate.describe()}); retry in {retry_ms} ms",
                {"layer": "session", "limit": rate.limit, "periodSeconds": rate.period, "retryAfterMs": retry_ms},
                kind=ErrorKind.RATE_LIMITED)
