"""A router for the tests: ``ROUTER_UPSTREAMS`` (comma-separated NAME=URL) and optional
``ROUTER_ROUTES`` / ``ROUTER_PREFIXES`` (comma-separated KEY=VALUE), configured from the
environment like any deployment (EDGEMCP_STORE, EDGEMCP_SECRET, EDGEMCP_TOKENS...)."""

import os

from edgemcp.router.config import build_router


def _listed(name: str) -> list[str]:
    return [item for item in os.environ.get(name, "").split(",") if item]


app = build_router(_listed("ROUTER_UPSTREAMS"), routes=_listed("ROUTER_ROUTES"),
                   prefixes=_listed("ROUTER_PREFIXES"), fail_closed=_listed("ROUTER_FAIL_CLOSED"),
                   timeout=float(os.environ["ROUTER_TIMEOUT"]) if os.environ.get("ROUTER_TIMEOUT") else None)
