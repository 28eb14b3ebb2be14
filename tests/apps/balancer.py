"""A round-robin HTTP load balancer for tests: each request goes to the next backend.

    BACKENDS=http://127.0.0.1:8001,http://127.0.0.1:8002 uvicorn tests.apps.balancer:app

Streams responses (SSE included) and closes the upstream request when the client goes
away, so disconnect-means-cancel still reaches the backend.
"""

import asyncio
import itertools
import os
from typing import Any

import httpx

BACKENDS = [b.strip() for b in os.environ.get("BACKENDS", "").split(",") if b.strip()]
HOP_BY_HOP = {b"connection", b"keep-alive", b"transfer-encoding", b"te", b"trailer", b"upgrade",
              b"content-length"}
_next = itertools.cycle(BACKENDS)
_client: httpx.AsyncClient | None = None


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global _client
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if _client is None:
        _client = httpx.AsyncClient(timeout=httpx.Timeout(None), limits=httpx.Limits(max_connections=200))
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    headers = [(k, v) for k, v in scope["headers"] if k not in HOP_BY_HOP]
    url = next(_next) + scope["path"] + (("?" + scope["query_string"].decode()) if scope["query_string"] else "")
    upstream = await _client.send(_client.build_request(scope["method"], url, headers=headers, content=body),
                                  stream=True)
    try:
        await send({"type": "http.response.start", "status": upstream.status_code,
                    "headers": [(k, v) for k, v in upstream.headers.raw if k.lower() not in HOP_BY_HOP]})
        relay = asyncio.ensure_future(_relay(upstream, send))
        gone = asyncio.ensure_future(_disconnected(receive))
        await asyncio.wait((relay, gone), return_when=asyncio.FIRST_COMPLETED)
        for task in (relay, gone):
            task.cancel()
        await asyncio.gather(relay, gone, return_exceptions=True)
        if relay.done() and not relay.cancelled() and relay.exception() is None:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        await upstream.aclose()


async def _relay(upstream: httpx.Response, send: Any) -> None:
    async for chunk in upstream.aiter_raw():
        await send({"type": "http.response.body", "body": chunk, "more_body": True})


async def _disconnected(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
