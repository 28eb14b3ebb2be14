"""A server for the streaming tests: slow tools that record how they ended."""

import asyncio
import os
from pathlib import Path

from edgemcp import Context, EdgeMCP

MARKERS = Path(os.environ.get("EDGEMCP_TEST_MARKERS", "/tmp"))

mcp = EdgeMCP("streaming", version="0.0.1", reply_timeout=float(os.environ.get("EDGEMCP_REPLY_TIMEOUT", "300")))


@mcp.tool()
async def slow(label: str, ctx: Context) -> str:
    """Sleeps for up to 30 s, reporting progress; writes a marker saying how it ended."""
    try:
        for step in range(300):
            await ctx.progress(step, 300)
            await asyncio.sleep(0.1)
    except asyncio.CancelledError:
        (MARKERS / f"{label}.cancelled").write_text("cancelled")
        raise
    (MARKERS / f"{label}.finished").write_text("finished")
    return "finished"


@mcp.tool()
async def chatty(ctx: Context) -> str:
    await ctx.debug("debug line")
    await ctx.info("info line")
    await ctx.error("error line")
    return "done"


@mcp.tool()
async def ask_name(ctx: Context) -> str:
    try:
        answer = await ctx.elicit("Name?", {"type": "object", "properties": {"name": {"type": "string"}}})
    except TimeoutError:
        return "no answer in time"
    return f"hello {(answer.get('content') or {}).get('name')}"


@mcp.tool()
async def change_tools() -> str:
    await mcp.notify_list_changed("tools")
    await mcp.notify_resource_updated("memo://1")
    return "notified"


app = mcp.asgi()
