"""Serve an ``EdgeMCP`` app as a Cloudflare Python Worker.

    # workers/entry.py
    from edgemcp.cloudflare import entrypoint
    from my_app import app

    Default = entrypoint(app)            # the Worker's fetch handler, serving /mcp

Configuration comes from the Worker's env at the first request (secrets and vars, see
``edgemcp.cloudflare.config``), never at import: a Worker's memory snapshot must not
hold entropy or a clock reading. Stores live behind bindings: Workers KV
(``edgemcp.store.kv``) and a Durable Object (``edgemcp.store.durable``,
``workers/store_object.py``).
"""

from .bridge import Exchange, Platform, StreamWriter, request_scope
from .config import WorkerSettings, binding_store
from .handler import WorkerHandler, entrypoint

__all__ = [
    "Exchange", "Platform", "StreamWriter", "WorkerHandler", "WorkerSettings", "binding_store",
    "entrypoint", "request_scope",
]
