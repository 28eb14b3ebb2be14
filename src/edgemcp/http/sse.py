"""Server-Sent Events framing for JSON-RPC messages."""

from typing import Any

from ..jsoncodec import dumps

SSE_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache, no-transform"),
    (b"x-accel-buffering", b"no"),
]
KEEPALIVE = b":\r\n\r\n"


def event(message: Any) -> bytes:
    return b"event: message\r\ndata: " + dumps(message) + b"\r\n\r\n"
