"""Server-Sent Events framing for JSON-RPC messages."""

import json
from typing import Any

SSE_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache, no-transform"),
    (b"x-accel-buffering", b"no"),
]
KEEPALIVE = b":\r\n\r\n"


def dumps(message: Any) -> bytes:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()


def event(message: Any) -> bytes:
    return b"event: message\r\ndata: " + dumps(message) + b"\r\n\r\n"
