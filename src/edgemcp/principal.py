"""Who is calling. Empty unless the app identifies callers (``EdgeMCP(identify=...)``)."""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Principal:
    agent_id: str = ""
    subject: str = ""
    tenant: str = ""
    scopes: frozenset[str] = field(default_factory=frozenset)

    @property
    def key(self) -> str:
        """A stable identity string that state and private cache entries are bound to."""
        return f"{self.tenant}/{self.subject}/{self.agent_id}"


ANONYMOUS = Principal()


# Given the request headers (lower-case names), return the caller, or None for anonymous.
# Raise MCPError(status=401 or 403) to refuse the request. Sync or async.
Identify = Callable[[Mapping[str, str]], "Principal | Awaitable[Principal | None] | None"]
