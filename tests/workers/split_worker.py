"""A Worker main module for the harness tests: examples/split.py at the edge. With
EDGEMCP_ROLE=edge and EDGEMCP_CORE_URL in its env, core tools are forwarded through the
platform's fetch to a core deployment on the host."""

from store_object import EdgeMCPStore

from edgemcp.cloudflare import entrypoint
from split import app

Default = entrypoint(app)

__all__ = ["Default", "EdgeMCPStore"]
