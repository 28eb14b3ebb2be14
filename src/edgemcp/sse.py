"""Server-Sent Events framing for JSON-RPC messages."""

import json
from typing import Any

SSE_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache, no-transform"),
    (b"x-accel-buffering", b"no"),
]
KEEPALIVE = b":\r\n\r\n"


# One encoder, built once: json.dumps would rebuild it (and re-check its options) per call.
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def dumps(message: Any) -> bytes:
    return _encode(message).encode()


def event(message: Any) -> bytes:
    return b"event: message\r\ndata: " + dumps(message) + b"\r\n\r\n"
