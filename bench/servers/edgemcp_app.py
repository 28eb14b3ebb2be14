"""edgemcp: ``EdgeMCP(...)`` + ``app.asgi()``. Secret from EDGEMCP_SECRET, store from
EDGEMCP_STORE (memory:// by default, redis://... for the Redis runs)."""

import inspect

from edgemcp import EdgeMCP

from ._functions import TOOLS


def build(cached_tool: bool = False, audit: bool = True) -> EdgeMCP:
    # session_rate=None: the handshake workload opens thousands of sessions a second from one
    # address, exactly the flood the default limit (500 per 10 s) refuses with 429. (A
    # --baseline revision from before the limit has no such option.)
    unlimited = {"session_rate": None} if "session_rate" in inspect.signature(EdgeMCP).parameters else {}
    app = EdgeMCP("bench-edgemcp", version="1.0.0", audit=audit, **unlimited)
    for fn in TOOLS:
        app.tool(fn)
    if cached_tool:
        # Workload (e): a cached tool hit. Public scope, so anonymous callers share the entry.
        @app.tool(cache_ttl=3600, cache_scope="public", read_only=True)
        def cached_echo(text: str) -> str:
            """Echo the text back (result cached for an hour)."""
            return text

    return app


app = build()
asgi = app.asgi()
