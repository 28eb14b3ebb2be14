"""edgemcp with one extra tool, ``cached_echo`` (cache_ttl=3600, cache_scope="public"), for the
cached-hit workload. Kept out of edgemcp_app so every other workload sees the same ten tools."""

from .edgemcp_app import build

app = build(cached_tool=True)
asgi = app.asgi()
