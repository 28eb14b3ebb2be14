"""MCP over stdio for local clients, served by the same app (``edgemcp stdio module:app``,
``app.run()``)."""

from .bridge import StdioBridge, serve
from .process import run, run_stdio

__all__ = ["StdioBridge", "run", "run_stdio", "serve"]
