"""One difference between a lock and a live surface, and whether it breaks clients."""

from dataclasses import dataclass
from typing import Literal

Kind = Literal["breaking", "compatible"]


@dataclass(frozen=True, slots=True)
class Change:
    """``item`` names what changed (``tool 'search'``), ``path`` where inside its definition
    (``inputSchema.properties.limit.maximum``), ``message`` what changed and, for a break, why."""

    kind: Kind
    item: str
    path: str
    message: str

    @property
    def breaking(self) -> bool:
        return self.kind == "breaking"
