"""A server for the abuse-limit tests (tests/test_limits.py, tests/test_abuse.py,
tests/test_store_deadline.py): a cheap tool, a tool that asks the client, and limits and
the store from the environment, so one module serves every test."""

import os

from edgemcp import Context, EdgeMCP


def _number(name: str, default: str) -> float:
    return float(os.environ.get(name, default))


mcp = EdgeMCP(
    "limits", version="0.0.1",
    body_timeout=_number("EDGEMCP_TEST_BODY_TIMEOUT", "30"),
    session_rate=os.environ.get("EDGEMCP_TEST_SESSION_RATE", "500/10s"),  # the default
    max_streams_per_principal=int(_number("EDGEMCP_TEST_PER_PRINCIPAL", "64")),
    store_timeout=_number("EDGEMCP_TEST_STORE_TIMEOUT", "2"),
)


@mcp.tool()
def echo(text: str) -> str:
    """Echo the text back."""
    return text


@mcp.tool()
async def ask(ctx: Context) -> str:
    """Ask the client to confirm."""
    answer = await ctx.elicit("Confirm?", {"type": "object", "properties": {"ok": {"type": "boolean"}}})
    return str(answer.get("action"))


app = mcp
