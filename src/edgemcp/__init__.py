"""edgemcp: stateless MCP servers for the edge and any ASGI host.

    from edgemcp import EdgeMCP

    app = EdgeMCP("weather", version="1.0.0")

    @app.tool(cache_ttl=600, cache_scope="public", placement="edge", read_only=True)
    def forecast(city: str) -> str:
        return f"Sunny in {city}"

    asgi = app.asgi()
"""

from .app import EdgeMCP
from .observe.telemetry import Telemetry
from .protocol.context import Context, InputRequest, elicitation, roots, sampling
from .protocol.errors import MCPError, ToolError
from .protocol.principal import Principal
from .registry.content import (
    audio,
    embedded_resource,
    image,
    message,
    resource_contents,
    resource_link,
    text,
)
from .registry.tools import ToolResult
from .version import __version__

__all__ = [
    "Context",
    "EdgeMCP",
    "InputRequest",
    "MCPError",
    "Principal",
    "Telemetry",
    "ToolError",
    "ToolResult",
    "__version__",
    "audio",
    "elicitation",
    "embedded_resource",
    "image",
    "message",
    "resource_contents",
    "resource_link",
    "roots",
    "sampling",
    "text",
]
