"""Two-layer token-bucket rate limits: per agent (runaway agents) and per tool (expensive
tools). A call passes only when both layers have budget. Buckets live in the store and
change atomically (a Redis script; the memory store for development)."""

import hashlib
import re
from dataclasses import dataclass
from typing import Literal

from ..errors import RATE_LIMITED, MCPError
from ..principal import Principal
from ..store import Keyspace

_UNITS = {"second": 1, "sec": 1, "s": 1, "minute": 60, "min": 60, "m": 60, "hour": 3600, "h": 3600,
          "day": 86400, "d": 86400}
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(\d*)\s*([a-z]+)\s*$")


@dataclass(frozen=True, slots=True)
class Rate:
    """``limit`` calls per ``period`` seconds, with bursts up to ``limit``."""

    limit: float
    period: float
    per: Literal["agent", "tool"] = "agent"

    @classmethod
    def parse(cls, text: "str | Rate", per: Literal["agent", "tool"] = "agent") -> "Rate":
        """``"5/minute"``, ``"100/hour"``, ``"10/30s"``."""
        if isinstance(text, Rate):
            return text
        found = _RATE.match(text.lower())
        if not found or found.group(3) not in _UNITS:
            raise ValueError(f"rate {text!r}: expected like '5/minute', '100/hour' or '10/30s'")
        count = float(found.group(2) or 1)
        return cls(float(found.group(1)), count * _UNITS[found.group(3)], per)

    @property
    def per_second(self) -> float:
        return self.limit / self.period

    def describe(self) -> str:
        return f"{self.limit:g} per {self.period:g}s"


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
        status=429,
        headers={"retry-after": str(max(1, int(wait + 0.999)))},
    )
