"""Routing: a stateless gateway over any MCP servers (``Router``), and the forwarding that
splits one app between edge and core deployments (``EdgeMCP(role=...)``). Needs httpx and
httpx-sse (the ``server`` extra; vendored on Workers)."""

from .credentials import BearerToken, ClientCredentials
from .router import Router, parse_upstream
from .upstream import Upstream

__all__ = ["BearerToken", "ClientCredentials", "Router", "Upstream", "parse_upstream"]
