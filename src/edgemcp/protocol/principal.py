"""Who is calling. Anonymous unless the app identifies callers (``EdgeMCP(auth=...)``)."""

from dataclasses import dataclass, field


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
