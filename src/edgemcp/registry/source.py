"""Where tools come from. Like an httpx transport: a small Protocol with swappable
implementations. ``LocalTools`` holds the app's own functions; a source of tools served
by another MCP server, or run as background tasks, plugs in the same way."""

from collections.abc import Iterator, Sequence
from typing import Protocol

from .tools import Tool


class ToolSource(Protocol):
    async def list_tools(self) -> Sequence[Tool]:
        """Every tool, in a stable order (what callers may see is the guards' business)."""
        ...

    async def get_tool(self, name: str) -> Tool | None: ...

    def peek(self, name: str) -> Tool | None:
        """The tool if it is known at once (no I/O), else None: ``get_tool`` then tells."""
        ...


class LocalTools:
    """The tools registered on this app, in registration order."""

    def __init__(self) -> None:
        self._tools: dict[str, Tool] = {}
        self._listed: tuple[Tool, ...] = ()

    def add(self, tool: Tool) -> None:
        if tool.name in self._tools:
            raise ValueError(f"a tool named {tool.name!r} is already registered")
        self._tools[tool.name] = tool
        self._listed = tuple(self._tools.values())

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    peek = get

    async def list_tools(self) -> Sequence[Tool]:
        return self._listed

    async def get_tool(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._listed)

    def __len__(self) -> int:
        return len(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools
