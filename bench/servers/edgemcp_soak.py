"""The soak's app (bench/soak.py): the ten benchmark tools plus one tool per kind of work
the soak mixes in. Two replicas of it run on one Redis behind the balancer.

- ``cached_echo``: a public cached result (a hit after the first call).
- ``limited_echo``: a per-agent rate limit (``SOAK_GUARD_RATE``) the soak sends more than,
  so a share of its calls get 429 + Retry-After: expected, not an error.
- ``downstream``: waits on a downstream HTTP service (servers/downstream_stub.py, which
  answers after 20 ms, at ``BENCH_UPSTREAM_URL``), as workload (j) of run.py does.
- ``ask``: elicits a name from the user (handshake era: the request goes out on the call's
  SSE stream and the client's reply comes back through Redis, often to the other replica).
- ``write``: an idempotent write (the client sends an Idempotency-Key). Its side effect is
  one line in a ledger file per process, written when the call ends (after ``hold``
  seconds), so the soak can count how often each key really ran.
- ``hold_task``: a task that works for ``seconds`` (for the replica-kill fault).
"""

import asyncio
import os
from pathlib import Path
from typing import Any

from edgemcp import Context, EdgeMCP

from ._downstream import fetch_quote
from ._functions import TOOLS

REPLICA = os.environ.get("SOAK_REPLICA", "?")
LEDGER = Path(os.environ.get("SOAK_LEDGER", "/tmp")) / f"ledger-{REPLICA}-{os.getpid()}.txt"

app = EdgeMCP(
    "bench-soak", version="1.0.0",
    reply_timeout=float(os.environ.get("SOAK_REPLY_TIMEOUT", "30")),
    task_lease=float(os.environ.get("SOAK_TASK_LEASE", "3")),
)
for fn in TOOLS:
    app.tool(fn)


@app.tool(cache_ttl=3600, cache_scope="public", read_only=True)
def cached_echo(text: str) -> str:
    """Echo the text back (result cached for an hour)."""
    return text


@app.tool(rate_limit=os.environ.get("SOAK_GUARD_RATE", "100/second"))
def limited_echo(text: str) -> str:
    """Echo the text back, within a per-agent budget."""
    return text


@app.tool(read_only=True)
async def downstream(text: str) -> str:
    """Ask the downstream service for a quote (it answers after 20 ms), then echo the text back."""
    await fetch_quote("SOAK")
    return text


@app.tool()
async def ask(ctx: Context) -> str:
    """Ask the user for a name and greet them."""
    answer = await ctx.elicit("Your name?", {"type": "object", "properties": {"name": {"type": "string"}},
                                             "required": ["name"]}, key="name")
    content: dict[str, Any] = answer.get("content") or {}
    return f"hello {content.get('name', '?')}"


@app.tool(idempotent=True)
async def write(entry: str, hold: float = 0.0) -> str:
    """Record ``entry`` (after ``hold`` seconds): one ledger line per real execution."""
    if hold > 0:
        await asyncio.sleep(hold)
    with LEDGER.open("a") as ledger:  # one short append: the line lands whole
        ledger.write(f"{entry}\n")
    return f"wrote {entry}"


@app.tool(task="required", task_ttl=120)
async def hold_task(seconds: float) -> str:
    """Work for ``seconds``, as a task."""
    await asyncio.sleep(seconds)
    return "held"


asgi = app.asgi()
