"""The downstream HTTP service of workload (j), a stub: any GET answers a small JSON quote
after ``await asyncio.sleep(0.02)``, as a slow internal API would; ``GET /count`` answers how
many quotes it has served, so the harness can check that a cold call really went downstream
and a cache hit did not. Raw ASGI under uvicorn, on the wrk core (an ``upstream`` in run.py)."""

import asyncio
import json
from urllib.parse import parse_qs

DELAY_S = 0.02
PRICE = "42.17"
_JSON = (b"content-type", b"application/json")
_served = 0


async def asgi(scope, receive, send):  # type: ignore[no-untyped-def]
    global _served
    if scope["type"] == "lifespan":
        while True:
            event = await receive()
            if event["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif event["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["path"] == "/count":
        payload = {"served": _served}
    else:
        await asyncio.sleep(DELAY_S)
        _served += 1
        symbol = parse_qs(scope["query_string"].decode()).get("symbol", ["?"])[0]
        payload = {"symbol": symbol, "price": PRICE, "currency": "EUR"}
    body = json.dumps(payload, separators=(",", ":")).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [_JSON, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
