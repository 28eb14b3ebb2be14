"""One app, two deployments: the edge (a Worker, or any ASGI host near users) and the core
(the origin, next to the data). Tools placed on the core run there; the rest run at the
edge, and the client never knows there was a hop.

    # the core, at the origin
    EDGEMCP_ROLE=core EDGEMCP_SECRET=... EDGEMCP_STORE=redis://... uvicorn examples.split:app --port 9000

    # the edge (here on a second host; on Workers, see the README)
    EDGEMCP_ROLE=edge EDGEMCP_CORE_URL=http://127.0.0.1:9000/mcp EDGEMCP_SECRET=... \\
    EDGEMCP_TOKENS=alice:alice-token uvicorn examples.split:app --port 8000

Without ``EDGEMCP_ROLE`` everything runs in one process, as for any app. Callers
authenticate at the edge (bearer tokens from ``EDGEMCP_TOKENS``, when set); the core takes
the edge's signed assertion of who they are.
"""

import os
from typing import Annotated

from pydantic import Field

from edgemcp import Context, EdgeMCP, ToolError
from edgemcp.guards import BearerTokens

app = EdgeMCP(
    "split-bank",
    version="1.0.0",
    instructions="Forecasts come from the edge; balances and transfers from the bank's core.",
    auth=BearerTokens.from_env("EDGEMCP_TOKENS") if os.environ.get("EDGEMCP_TOKENS") else None,
)

Account = Annotated[str, Field(min_length=4, max_length=34, description="Account number")]


@app.tool(placement="edge", cache_ttl=600, cache_scope="public", read_only=True, open_world=False)
def forecast(city: Annotated[str, Field(description="City name")]) -> str:
    """Today's weather for a city, from the edge."""
    return f"Forecast for {city}: sunny, 21 °C."


@app.tool(placement="core", cache_ttl=30, cache_scope="private", read_only=True, open_world=False)
def balance(account: Account) -> str:
    """An account's balance, from the bank's core."""
    return f"Balance of account {account}: 1,250.00 EUR."


@app.tool(placement="core", idempotent=True, destructive=True, open_world=False)
async def transfer(account: Account, amount: Annotated[float, Field(gt=0)], ctx: Context) -> str:
    """Move money out of an account, after the user confirms. Send an Idempotency-Key to make
    a retried transfer run once."""
    answer = await ctx.elicit(
        f"Transfer {amount:.2f} EUR from account {account}?",
        {"type": "object", "properties": {"confirm": {"type": "boolean", "description": "Go ahead"}},
         "required": ["confirm"]},
    )
    if answer.get("action") != "accept" or not answer.get("content", {}).get("confirm"):
        raise ToolError(f"Transfer from account {account} cancelled by the user.")
    return f"Transferred {amount:.2f} EUR from account {account}."
