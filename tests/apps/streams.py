"""A server for the stream tests: tools that change lists, update resources and message
their session on its GET stream, and calls whose connection the server lets go of.
Limits and the store come from the environment, so one module serves every test.

``EDGEMCP_TEST_STORE=workers-fakes`` serves from the store a Worker uses (Workers KV plus
the Durable Object store, neither with pub/sub) over the FAKE bindings of
tests/fakes/cloudflare.py, in this one process.
"""

import asyncio
import os
from pathlib import Path
from typing import Literal

from edgemcp import Context, EdgeMCP
from edgemcp.store import Store
from edgemcp.store.durable import DurableObjectStore
from edgemcp.store.kv import WorkersKVStore
from edgemcp.store.split import SplitStore
from tests.fakes.cloudflare import FakeDurableObjectNamespace, FakeKVNamespace

MARKERS = Path(os.environ.get("EDGEMCP_TEST_MARKERS", "/tmp"))
POLL_AFTER = os.environ.get("EDGEMCP_TEST_POLL_AFTER")
STORE: Store | None = None
if os.environ.get("EDGEMCP_TEST_STORE") == "workers-fakes":
    STORE = SplitStore(WorkersKVStore(FakeKVNamespace()), DurableObjectStore(FakeDurableObjectNamespace()))

mcp = EdgeMCP(
    "streams", version="0.0.1", store=STORE,
    stream_poll_after=float(POLL_AFTER) if POLL_AFTER else None,
    stream_retry=0.1,
    stream_log_length=int(os.environ.get("EDGEMCP_TEST_LOG_LENGTH", "200")),
    max_streams_per_session=int(os.environ.get("EDGEMCP_TEST_PER_SESSION", "8")),
    max_streams_per_principal=int(os.environ.get("EDGEMCP_TEST_PER_PRINCIPAL", "64")),
)


@mcp.tool()
async def change(kind: Literal["tools", "prompts", "resources"] = "tools") -> str:
    """Tells every session's GET stream that a list changed."""
    await mcp.notify_list_changed(kind)
    return f"{kind} changed"


@mcp.tool()
async def touch(uri: str) -> str:
    """Tells the sessions subscribed to ``uri`` that it changed."""
    await mcp.notify_resource_updated(uri)
    return f"{uri} updated"


@mcp.tool()
async def tell(text: str, ctx: Context) -> str:
    """Sends a log message to the calling session's GET stream."""
    assert ctx.request.session_id is not None
    sent = await mcp.notify_message(ctx.request.session_id, "info", text)
    return "sent" if sent else "not sent"


@mcp.tool(stream_poll_after=0)
async def steps(count: int, ctx: Context) -> str:
    """Logs ``count`` steps; the server lets go of its connection at once, so the client polls."""
    for step in range(1, count + 1):
        await asyncio.sleep(0.05)
        await ctx.info(f"step {step}")
    return f"{count} steps"


@mcp.tool()
async def until(label: str, ctx: Context) -> str:
    """Logs, then waits until the test writes the marker ``label`` (for up to 30 s)."""
    await ctx.info("waiting")
    for _ in range(600):
        if (MARKERS / label).exists():
            break
        await asyncio.sleep(0.05)
    await ctx.info("released")
    return f"{label} released"


@mcp.resource("memo://{id}", mime_type="text/plain")
def memo(id: str) -> str:
    return f"memo {id}"


app = mcp.asgi()
