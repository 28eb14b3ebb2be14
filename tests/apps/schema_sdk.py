"""A server built with the official Python SDK (``mcp`` 2.3.0) for the schema lock tests:
``MCPServer`` in stateful streamable-HTTP mode (sessions, SSE responses), with typed tools,
a prompt, a resource and a resource template, so a lock of it covers every kind of item."""

from typing import Annotated, Literal

from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field

server = MCPServer("schema-sdk", version="2.1.0", log_level="WARNING")


class Order(BaseModel):
    order_id: str
    status: Literal["open", "shipped", "cancelled"]
    total_cents: int


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def find_order(order_id: Annotated[str, Field(description="The order to look up")],
               include_items: bool = False) -> Order:
    """Look up one order."""
    return Order(order_id=order_id, status="open", total_cents=100)


@server.tool()
def cancel_order(order_id: str, reason: str | None = None) -> str:
    """Cancel an order."""
    return f"cancelled {order_id}"


@server.prompt()
def summarise_orders(customer: str, since: str = "last week") -> str:
    """Summarise a customer's orders."""
    return f"Summarise the orders of {customer} since {since}."


@server.resource("orders://recent", mime_type="application/json")
def recent() -> str:
    return "[]"


@server.resource("orders://{order_id}/invoice")
def invoice(order_id: str) -> str:
    return f"invoice {order_id}"


app = server.streamable_http_app()
