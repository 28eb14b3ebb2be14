"""Server-Sent Events framing for JSON-RPC messages: events, their ids, and the retry
field that tells a client how long to wait before it reconnects."""

from typing import Any

from ..jsoncodec import dumps

SSE_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache, no-transform"),
    (b"x-accel-buffering", b"no"),
]
KEEPALIVE = b":\r\n\r\n"


def event(message: Any, event_id: str | None = None) -> bytes:
    if event_id is None:
        return b"event: message\r\ndata: " + dumps(message) + b"\r\n\r\n"
    return b"event: message\r\nid: " + event_id.encode("ascii") + b"\r\ndata: " + dumps(message) + b"\r\n\r\n"


def priming(event_id: str, retry_ms: int | None = None) -> bytes:
    """An event with an id and empty data: the client may reconnect from here with
    ``Last-Event-ID`` (2025-11-25), waiting ``retry_ms`` first."""
    retry = b"" if retry_ms is None else b"retry: %d\r\n" % retry_ms
    return b"id: " + event_id.encode("ascii") + b"\r\n" + retry + b"data:\r\n\r\n"


def retry(retry_ms: int) -> bytes:
    """Only a retry field: sent before the server closes a stream's connection so the
    client waits that long, then reconnects (no event is dispatched)."""
    return b"retry: %d\r\n\r\n" % retry_ms
