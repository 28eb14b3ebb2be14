"""Test an edgemcp app in process, in either protocol era, with no sockets:

    from edgemcp.testing import Client

    async def test_forecast() -> None:
        async with Client(app) as client:
            result = await client.call_tool("forecast", {"city": "Paris"})
            assert result["content"][0]["text"] == "Sunny in Paris"
"""

from .client import Client
from .wire import ResponseError

__all__ = ["Client", "ResponseError"]
