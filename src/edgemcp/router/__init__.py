"""Routing: a stateless gateway over any MCP servers (``Router``), and the forwarding that
splits one app between edge and core deployments (``EdgeMCP(role=...)``). Outbound HTTP goes
through ``outbound.Outbound``: asyncio and httptools on ASGI hosts (the ``server`` extra),
the platform's ``fetch`` on Workers."""

from .credentials import BearerToken, ClientCredentials
from .router import Router, parse_upstream
from .upstream import Upstream

__all__ = ["BearerToken", "ClientCredentials", "Router", "Upstream", "parse_upstream"]
