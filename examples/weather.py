"""The README's server in one file: edgemcp dev examples.weather:app (or uvicorn examples.weather:asgi)."""

from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field

from edgemcp import Context, EdgeMCP

app = EdgeMCP("weather", version="1.0.0", instructions="Forecasts and bookings.")


class Forecast(BaseModel):
    city: str
    summary: str
    high_c: float


@app.tool(cache_ttl=600, cache_scope="public", placement="edge", read_only=True)
def forecast(city: Annotated[str, Field(description="City name")], day: date) -> Forecast:
    """Weather for a city on a day."""
    return Forecast(city=city, summary="sunny", high_c=21)


@app.tool(placement="core")                      # undeclared: destructive + open-world, as the spec says
async def book_umbrella(city: str, ctx: Context) -> str:
    answer = await ctx.elicit("Confirm?", {"type": "object", "properties": {"ok": {"type": "boolean"}}})
    await ctx.progress(1, 1)
    return "booked" if answer.get("action") == "accept" else "cancelled"


@app.resource("weather://cities", mime_type="application/json", cache_ttl=3600, cache_scope="public")
def cities() -> list[str]:
    return ["Lisbon", "Oslo"]


@app.resource("weather://city/{name}")            # a URI template: variables become arguments
def city(name: str) -> str:
    return f"About {name}"


@app.prompt()
def packing_list(city: str) -> str:
    return f"Suggest a packing list for {city}."


@app.completion(prompt="packing_list")
def complete_city(argument: str, value: str, context: dict) -> list[str]:
    return [c for c in ["Lisbon", "Lima", "Oslo"] if c.lower().startswith(value.lower())]


asgi = app.asgi()          # serve with: uvicorn module:asgi  (endpoint: /mcp)
