"""An MCP server with every production guard on.

    EDGEMCP_TOKENS=agent-a:token-a,agent-b:token-b \
    EDGEMCP_STORE=redis://127.0.0.1:6379/0 EDGEMCP_SECRET=... \
    uvicorn examples.guarded_server:app

- Bearer tokens per agent from ``EDGEMCP_TOKENS`` (more can be added or revoked at runtime
  with ``edgemcp tokens add|revoke --app guarded``).
- ``echo`` allows 5 calls per agent per minute; every agent also has 120 calls a minute in all.
- ``delete_record`` is destructive: it needs the ``records:write`` scope, honours
  idempotency keys and supports dry runs.
- Any tool can be switched off at runtime: ``edgemcp tools disable echo --app guarded``.
"""

from typing import Annotated

from pydantic import Field

from edgemcp import Context, EdgeMCP, ToolError
from edgemcp.guards import BearerTokens

# Scopes per agent for the static tokens: agent-a may write, others may only read.
SCOPES = {"agent-a": ["records:read", "records:write"]}

mcp = EdgeMCP(
    "guarded",
    version="1.0.0",
    auth=BearerTokens.from_env("EDGEMCP_TOKENS", scopes=SCOPES),
    rate_limit="120/minute",
)

# Stands in for a database, so the example has something to destroy. (Per process: fine
# for a demo; a real tool would call its own service.)
RECORDS = {str(i): f"record {i}" for i in range(1, 6)}
DELETED: list[str] = []


@mcp.tool(rate_limit="5/minute", read_only=True)
def echo(text: Annotated[str, Field(max_length=1000)]) -> str:
    """Echo the text back."""
    return text


@mcp.tool(scopes=["records:read"], read_only=True, placement="edge")
def list_records(ctx: Context) -> list[str]:
    """Records visible to the caller's tenant."""
    return sorted(RECORDS)


@mcp.tool(scopes=["records:write"], destructive=True, idempotent=False, dry_run=True, placement="core")
def delete_record(record_id: str, ctx: Context) -> str:
    """Delete a record. Send an idempotency key to make retries safe; ask for a dry run to
    see what would happen."""
    if record_id not in RECORDS:
        raise ToolError(f"no record {record_id}")
    if ctx.dry_run:
        return f"would delete {record_id}"
    del RECORDS[record_id]
    DELETED.append(record_id)
    return f"deleted {record_id} (deletions so far: {len(DELETED)})"


app = mcp.asgi()

