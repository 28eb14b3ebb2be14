"""A Worker main module for the harness tests: cached tools (public and private), a rate
limited tool, and a slow tool that records how it ended. Module globals are per isolate
(per Pyodide instance), which is what the cross-isolate checks rely on."""

import asyncio

from store_object import EdgeMCPStore

from edgemcp import Context, EdgeMCP
from edgemcp.cloudflare import entrypoint
from edgemcp.guards import BearerTokens, Rate

CALLS = {"public": 0, "private": 0}
ENDED: dict[str, str] = {}

mcp = EdgeMCP("probe", auth=BearerTokens({"agent-a": "token-a", "agent-b": "token-b"}),
              auth_required=False)


@mcp.tool(cache_ttl=5, cache_scope="public", read_only=True)
def public_count() -> str:
    """Cached for 5 s, which Workers KV rounds up to its 60 s floor."""
    CALLS["public"] += 1
    return f"public call {CALLS['public']}"


@mcp.tool(cache_ttl=120, cache_scope="private", read_only=True)
def private_count(ctx: Context) -> str:
    CALLS["private"] += 1
    return f"private call {CALLS['private']} for {ctx.principal.agent_id}"


@mcp.tool(rate_limit=Rate.parse("3/minute", per="tool"))
def limited() -> str:
    return "ok"


@mcp.tool()
async def slow(label: str, ctx: Context) -> str:
    ENDED[label] = "running"
    try:
        for step in range(200):
            await ctx.progress(step, 200)
            await asyncio.sleep(0.1)
    except asyncio.CancelledError:
        ENDED[label] = "cancelled"
        raise
    ENDED[label] = "finished"
    return "finished"


@mcp.tool(read_only=True)
def ended(label: str) -> str:
    return ENDED.get(label, "unknown")


Default = entrypoint(mcp)

__all__ = ["Default", "EdgeMCPStore"]
