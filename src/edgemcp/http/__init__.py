"""The HTTP edge: Streamable HTTP for both protocol eras as a plain ASGI app. One module
per job: routing (``asgi``), a POST (``post``), each era (``modern``, ``handshake``),
change streams (``listen``), the response stream (``channel``), who is calling
(``caller``), cancellation watchers (``cancellation``), and the wire itself (``wire``)."""

from .asgi import StreamableHTTP

__all__ = ["StreamableHTTP"]
