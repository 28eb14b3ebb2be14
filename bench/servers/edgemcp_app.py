"""edgemcp: ``EdgeMCP(...)`` + ``app.asgi()``. Secret from EDGEMCP_SECRET, store from
EDGEMCP_STORE (memory:// by default, redis://... for the Redis runs)."""

from edgemcp import EdgeMCP

from ._functions import TOOLS


def build(cached_tool: bool = False, audit: bool = True) -> EdgeMCP:
    # session_rate=None: the handshake workload opens thousands of sessions a second from one
    # address, exactly the flood the default limit (20 per 4 s) refuses with 429.
    app = EdgeMCP("bench-edgemcp", version="1.0.0", audit=audit, session_rate=None)
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
