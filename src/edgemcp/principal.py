"""Who is calling. Empty unless the app identifies callers (``EdgeMCP(identify=...)``)."""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Principal:
    agent_id: str = ""
    subject: str = ""
    tenant: str = ""
    scopes: frozenset[str] = field(default_factory=frozenset)

    @property
    def authenticated(self) -> bool:
        return bool(self.agent_id or self.subject)

    @property
    def key(self) -> str:
        """A stable identity string that state and private cache entries are bound to."""
        return f"{self.tenant}/{self.subject}/{self.agent_id}"


ANONYMOUS = Principal()


@dataclass(frozen=True, slots=True)
class HTTPRequest:
    """What an authenticator may look at: headers (lower-case names), the TCP peer, and the
    raw ASGI scope (for the TLS extension, or ``cf`` fields on Cloudflare)."""

    headers: Mapping[str, str]
    client: tuple[str, int] | None
    scope: Mapping[str, Any]


# Given the request, return the caller, or None when it presented no credentials.
# Raise MCPError(status=401 or 403) to refuse the request. Sync or async.
Identify = Callable[[HTTPRequest], "Principal | Awaitable[Principal | None] | None"]
