"""Where an app serves MCP, and a Host header it accepts: what a client in the same
process must send, since it reaches the app through no URL."""

import os
from typing import Any

DEFAULT_PATH = "/mcp"
LOOPBACK_HOST = "localhost"


def mcp_path(app: Any) -> str:
    """The endpoint of an edgemcp app (``EdgeMCP`` or its ``asgi()``); ``/mcp`` otherwise."""
    path = getattr(app, "path", None)  # StreamableHTTP keeps it
    return path if isinstance(path, str) and path.startswith("/") else DEFAULT_PATH


def accepted_host(app: Any) -> str:
    """``localhost`` when the app's Host check lets it in (the default), else the first
    host the app allows. Needs a started app: it asks the app's runtime."""
    start = getattr(app, "start", None)
    if not callable(start):
        return LOOPBACK_HOST  # not an edgemcp app: nothing to ask
    runtime = start()
    guard = getattr(runtime, "origin_guard", None)
    if guard is None or guard.host_ok(LOOPBACK_HOST):
        return LOOPBACK_HOST
    configured = runtime.settings.allowed_hosts
    if configured is None:
        configured = os.environ.get("EDGEMCP_ALLOWED_HOSTS", "").split(",")
    for host in (h.strip() for h in configured):
        if host and guard.host_ok(host):
            return str(host)
    return LOOPBACK_HOST
