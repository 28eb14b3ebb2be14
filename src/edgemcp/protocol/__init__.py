"""The protocol core: pure. It imports nothing from the HTTP edge, the store, the guards,
observability or the platforms, and does no I/O of its own: everything that does arrives
through the ports in ``ports.py``."""

from .dispatch import Dispatcher, Reply, error_response, modern_meta, response
from .ports import Catalog, Services, Tool, ToolCall
from .request import RequestInfo

__all__ = [
    "Catalog", "Dispatcher", "Reply", "RequestInfo", "Services", "Tool", "ToolCall",
    "error_response", "modern_meta", "response",
]
