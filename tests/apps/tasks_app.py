"""A server for the task and cancellation tests: tools that write marker files saying
what happened to them and on which replica (``REPLICA``), so a test can tell whether a
cancellation reached the work, whether its ``ctx.on_cancel`` callbacks ran, and whether
the side effect the cancellation should have prevented happened anyway."""

import asyncio
import os
from pathlib import Path

from edgemcp import Context, EdgeMCP

MARKERS = Path(os.environ.get("EDGEMCP_TEST_MARKERS", "/tmp"))
REPLICA = os.environ.get("REPLICA", "?")

mcp = EdgeMCP("tasks-test", version="0.0.1", task_lease=float(os.environ.get("EDGEMCP_TASK_LEASE", "10")),
              max_pending_tasks=int(os.environ.get("EDGEMCP_MAX_PENDING_TASKS", "100")))


def mark(label: str, what: str) -> None:
    (MARKERS / f"{label}.{what}").write_text(REPLICA)


@mcp.tool(task="required")
async def job(label: str, seconds: float, ctx: Context) -> str:
    """Works for ``seconds``, then does its side effect. A cancellation stops it before:
    its callbacks (one async, one plain) stop the downstream work it started."""
    mark(label, "started")

    async def stop_downstream() -> None:
        await asyncio.sleep(0)
        mark(label, "on_cancel")

    ctx.on_cancel(stop_downstream)
    ctx.on_cancel(lambda: mark(label, "on_cancel_sync"))
    for second in range(int(seconds)):
        await ctx.progress(second, seconds, f"{label}: second {second}")
        await asyncio.sleep(1)
    mark(label, "side_effect")
    return f"{label} done on {REPLICA}"


@mcp.tool()
async def hold(label: str, ctx: Context) -> str:
    """A plain call (either era) that runs for 30 s unless cancelled."""
    mark(label, "started")
    ctx.on_cancel(lambda: mark(label, "on_cancel"))
    for step in range(300):
        await ctx.progress(step, 300)
        await asyncio.sleep(0.1)
    mark(label, "side_effect")
    return "held"


app = mcp.asgi()
