"""An ASGI app driven in this process with streaming responses: what the test client
(``edgemcp.testing``) and the stdio transport (``edgemcp.stdio``) are built on."""

from .driver import InProcess, Response, StartupFailed
from .endpoint import accepted_host, mcp_path
from .messages import messages

__all__ = ["InProcess", "Response", "StartupFailed", "accepted_host", "mcp_path", "messages"]
