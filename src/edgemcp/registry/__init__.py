"""What an app serves: tools (from a ``ToolSource``), resources, prompts, completions, and
the content helpers their functions return."""

from .policy import Placement, Rate, Summary
from .registry import Registry
from .source import LocalTools, ToolSource
from .tools import FunctionTool, Tool, ToolOptions, ToolResult

__all__ = [
    "FunctionTool", "LocalTools", "Placement", "Rate", "Registry", "Summary", "Tool",
    "ToolOptions", "ToolResult", "ToolSource",
]
