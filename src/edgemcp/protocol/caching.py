"""How long a result stays fresh and who may share it: the wire's ``ttlMs`` and
``cacheScope`` (2026-07-28), which edgemcp's result cache honours too."""

from dataclasses import dataclass
from typing import Any, Literal

CacheScope = Literal["public", "private"]


@dataclass(frozen=True, slots=True)
class CachePolicy:
    ttl_ms: int
    scope: CacheScope = "private"

    @classmethod
    def from_seconds(cls, ttl: float | None, scope: CacheScope) -> "CachePolicy | None":
        if ttl is None:
            return None
        if ttl < 0:
            raise ValueError("cache_ttl must be >= 0 seconds")
        if scope not in ("public", "private"):
            raise ValueError("cache_scope must be 'public' or 'private'")
        return cls(int(ttl * 1000), scope)


def cacheable(result: dict[str, Any], ttl_ms: int, scope: str) -> dict[str, Any]:
    """Mark a result with how long a client may reuse it, and with whom."""
    result["ttlMs"] = ttl_ms
    result["cacheScope"] = scope
    return result
