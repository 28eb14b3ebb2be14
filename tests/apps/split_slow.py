"""A split app for the cancellation-across-the-hop test: ``slow`` is placed on the core; run
it twice (EDGEMCP_ROLE=core and EDGEMCP_ROLE=edge with EDGEMCP_CORE_URL). The core's copy
writes a marker saying how it ended."""

import asyncio
import os
from pathlib import Path

from edgemcp import Context, EdgeMCP

MARKERS = Path(os.environ.get("EDGEMCP_TEST_MARKERS", "/tmp"))

app = EdgeMCP("split-slow", version="0.0.1")


@app.tool(placement="core")
async def slow(label: str, ctx: Context) -> str:
    """Runs for up to 30 s, reporting progress, unless cancelled."""
    try:
        for step in range(300):
            await ctx.progress(step, 300)
            await asyncio.sleep(0.1)
    except asyncio.CancelledError:
        (MARKERS / f"{label}.cancelled").write_text(os.environ.get("EDGEMCP_ROLE", "all"))
        raise
    (MARKERS / f"{label}.finished").write_text("finished")
    return "finished"
