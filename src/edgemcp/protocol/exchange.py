"""One JSON-RPC request on its way through the core, as every method handler sees it."""

from dataclasses import dataclass
from typing import Any

from .context import Channel
from .ports import Services
from .request import RequestInfo


@dataclass(slots=True)
class Exchange:
    id: Any
    params: dict[str, Any]
    info: RequestInfo
    services: Services[Any]
    channel: Channel
    # How a tool call failed when its isError result does not tell (for the operator):
    # "invalid-arguments", or the exception's type.
    failure: str | None = None
