"""One JSON-RPC request on its way through the core, as every method handler sees it."""

from dataclasses import dataclass
from typing import Any

from .context import Channel, Context
from .ports import Services
from .request import RequestInfo


@dataclass(slots=True)
class Exchange:
    id: Any
    params: dict[str, Any]
    info: RequestInfo
    services: Services[Any]
    channel: Channel
    context: Context | None = None  # the context the request's function ran with, if it ran

    @property
    def failure(self) -> str | None:
        """How a tool call failed when its isError result does not tell (for the operator):
        "invalid-arguments", or the exception's type."""
        return self.context.failure if self.context is not None else None
