"""A small realistic edgemcp server: an edge tool worth caching, a core tool that is not.

    edgemcp dev examples.weather:app
"""

import hashlib
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from edgemcp import Context, EdgeMCP, ToolError

app = EdgeMCP(
    "weather",
    version="1.0.0",
    instructions="Forecasts are cached for ten minutes; bookings always hit the origin.",
)


class Forecast(BaseModel):
    city: str
    day: date
    summary: Literal["sunny", "cloudy", "rain", "snow"]
    high_c: float
    low_c: float


@app.tool(cache_ttl=600, cache_scope="public", placement="edge", read_only=True, open_world=False)
def forecast(
    city: Annotated[str, Field(min_length=1, max_length=80, description="City name, e.g. Lisbon")],
    day: Annotated[date, Field(description="ISO date")],
) -> Forecast:
    """Tomorrow's weather anywhere: deterministic, public, cacheable at the edge."""
    seed = int(hashlib.sha256(f"{city.lower()}|{day}".encode()).hexdigest(), 16)
    summary = ("sunny", "cloudy", "rain", "snow")[seed % 4]
    high = 5 + seed % 25
    return Forecast(city=city, day=day, summary=summary, high_c=high, low_c=high - 3 - seed % 6)


@app.tool(placement="core", destructive=False, idempotent=False, open_world=True)
async def book_umbrella(city: str, quantity: Annotated[int, Field(ge=1, le=10)], ctx: Context) -> str:
    """Reserve umbrellas for pickup. Changes inventory, so never cached and run at the origin."""
    if city.strip() == "":
        raise ToolError("city must not be empty")
    if ctx.client_supports("elicitation"):
        answer = await ctx.elicit(
            f"Reserve {quantity} umbrella(s) in {city}?",
            {"type": "object", "properties": {"confirm": {"type": "boolean"}}, "required": ["confirm"]},
            key="confirm",
        )
        if answer.get("action") != "accept" or not (answer.get("content") or {}).get("confirm"):
            return "Reservation cancelled."
    await ctx.progress(1, 1, "reserved")
    return f"Reserved {quantity} umbrella(s) in {city}."


@app.resource("weather://cities", mime_type="application/json", cache_ttl=3600, cache_scope="public")
def cities() -> list[str]:
    """Cities with forecasts."""
    return ["Lisbon", "Oslo", "Nairobi", "Lima"]


@app.prompt()
def packing_list(city: str, days: str = "3") -> str:
    """Ask for a packing list that suits the forecast."""
    return f"Check the forecast for {city} and suggest a packing list for {days} days."
