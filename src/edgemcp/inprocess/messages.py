"""The JSON-RPC messages of a Streamable HTTP response, as they arrive: one JSON body, or
the events of an SSE stream (decoded incrementally, so a server-to-client request is
seen while the response is still open)."""

import re
from collections.abc import AsyncIterator
from typing import Any

from ..jsoncodec import loads
from .driver import Response

_LINE_END = re.compile(rb"\r\n|\r|\n")


async def messages(response: Response) -> AsyncIterator[Any]:
    """Each JSON-RPC message the response carries (nothing for an empty body, such as a
    202). Raises ``ValueError`` if a body or an event is not JSON."""
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "text/event-stream":
        async for data in _events(response):
            yield loads(data)
        return
    body = await response.body()
    if body.strip():
        yield loads(body)


async def _events(response: Response) -> AsyncIterator[bytes]:
    """The ``data`` of each SSE event (per the HTML standard's event-stream parsing: lines
    end in CRLF, LF or CR, a blank line ends an event, ``:`` starts a comment). Events
    without data (keep-alives, priming events) are skipped, as is an unfinished last one."""
    buffer = b""
    data: list[bytes] = []
    async for chunk in response.chunks():
        buffer += chunk
        while (match := _LINE_END.search(buffer)) is not None:
            if match.group() == b"\r" and match.end() == len(buffer):
                break  # maybe the first half of a CRLF split across chunks
            line, buffer = buffer[: match.start()], buffer[match.end():]
            if not line:
                joined = b"\n".join(data)
                if joined:  # a priming event's data is empty: it carries no message
                    yield joined
                data = []
                continue
            field, _, value = line.partition(b":")
            if field == b"data":
                data.append(value[1:] if value.startswith(b" ") else value)
