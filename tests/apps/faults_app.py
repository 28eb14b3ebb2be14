"""A server for the fault tests (tests/test_faults.py). Its ``write`` tool counts its own
executions through a side channel the store cannot touch: a marker file when it starts
and a line in a ledger file when it has done its work, so a test can tell whether an
acknowledged idempotent write was lost or ran twice, whatever happened to Redis or to a
replica. Deadlines come from the environment, so a test can wait them out in seconds."""

import asyncio
import os
from pathlib import Path
from typing import Any

from edgemcp import Context, EdgeMCP

LEDGER = Path(os.environ.get("FAULTS_LEDGER", "/tmp"))
REPLICA = os.environ.get("REPLICA", "?")

mcp = EdgeMCP(
    "faults-test", version="0.0.1",
    reply_timeout=float(os.environ.get("FAULTS_REPLY_TIMEOUT", "300")),
    idempotency_lease=float(os.environ.get("FAULTS_IDEMPOTENCY_LEASE", "10")),
    task_lease=float(os.environ.get("FAULTS_TASK_LEASE", "10")),
)


@mcp.tool(read_only=True)
def plain(text: str) -> str:
    """Stateless: needs nothing from the store."""
    return text


@mcp.tool(idempotent=True)
async def write(entry: str, hold: float = 0.0) -> str:
    """Record ``entry`` after ``hold`` seconds: one ledger line per execution that finished."""
    (LEDGER / f"{entry}.started").write_text(REPLICA)
    await asyncio.sleep(hold)
    with (LEDGER / "ledger.txt").open("a") as ledger:
        ledger.write(f"{entry}\n")
    return f"wrote {entry}"


@mcp.tool()
async def ask(ctx: Context) -> str:
    """Ask the user for a name."""
    answer = await ctx.elicit("Your name?", {"type": "object", "properties": {"name": {"type": "string"}}},
                              key="name")
    content: dict[str, Any] = answer.get("content") or {}
    return f"hello {content.get('name', '?')}"


@mcp.tool(task="required")
async def hold_task(seconds: float) -> str:
    """Work for ``seconds``, as a task."""
    await asyncio.sleep(seconds)
    return "held"


app = mcp.asgi()
