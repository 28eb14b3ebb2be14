"""FastMCP 4.1.6's proxy (``create_proxy``) in front of ``BENCH_UPSTREAM_URL``, stateless with
JSON responses: the peer row of workload (h)."""

import os

os.environ.setdefault("FASTMCP_LOG_LEVEL", "WARNING")

from fastmcp.server import create_proxy

app = create_proxy(os.environ["BENCH_UPSTREAM_URL"], name="bench-fastmcp-proxy")
asgi = app.http_app(stateless_http=True, json_response=True)
