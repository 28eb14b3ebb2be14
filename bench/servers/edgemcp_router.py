"""edgemcp's router (``Router``) in front of one upstream, ``BENCH_UPSTREAM_URL`` (an edgemcp
server on the other core): the routed row of workload (h)."""

import os

from edgemcp.router import Router

app = Router("bench-router", upstreams=[f"up={os.environ['BENCH_UPSTREAM_URL']}"])
asgi = app.asgi()
