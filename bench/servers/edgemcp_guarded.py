"""edgemcp with guards on, for workload (f): bearer auth plus both rate-limit layers (an
agent budget and a per-tool budget, both far above what the run can spend, so every call
is checked against both buckets and passes). Same ten tools as edgemcp_app."""

from edgemcp import EdgeMCP
from edgemcp.guards import BearerTokens

from ._functions import TOOLS

BENCH_TOKEN = "bench-token-0123456789"

app = EdgeMCP(
    "bench-guarded",
    version="1.0.0",
    auth=BearerTokens({"bench-agent": BENCH_TOKEN}),
    rate_limit="1000000000/minute",
)
for fn in TOOLS:
    app.tool(fn, rate_limit="1000000000/minute")

asgi = app.asgi()
