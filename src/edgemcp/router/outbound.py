"""The router's outbound HTTP: a small Protocol with swappable implementations, like httpx's
transports. On ASGI hosts: asyncio streams and httptools (``router.http1``); on Workers, the
platform's ``fetch`` (``edgemcp.cloudflare.fetch``). And the Server-Sent Events reader both use.
"""

from collections.abc import AsyncIterator, Mapping
from typing import Protocol


class Response(Protocol):
    @property
    def status(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]:
        """Lower-case names."""
        ...

    def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives."""
        ...

    async def read(self) -> bytes: ...

    async def aclose(self) -> None:
        """Done with it: a response not read to its end is abandoned (the server sees the
        connection close, which is how a stream is cancelled)."""
        ...


class Outbound(Protocol):
    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> Response:
        """Send the request; returns once the response's head has arrived. ``OSError`` when
        the server cannot be reached, ``ValueError`` when it does not answer HTTP."""
        ...

    async def aclose(self) -> None: ...


async def sse_events(chunks: AsyncIterator[bytes]) -> AsyncIterator[str]:
    """The ``data`` of each Server-Sent Event (its lines joined), as they arrive; events
    without data (priming events, comments, keep-alives) are skipped."""
    buffer = b""
    async for chunk in chunks:
        buffer += chunk
        while True:
            ends = [i for i in (buffer.find(b"\n\n"), buffer.find(b"\r\n\r\n"), buffer.find(b"\r\r")) if i >= 0]
            if not ends:
                break
            end = min(ends)
            block, buffer = buffer[:end], buffer[end:].lstrip(b"\r\n")
            data = [line[5:].removeprefix(b" ") for line in block.splitlines() if line.startswith(b"data:")]
            if data:
                yield b"\n".join(data).decode("utf-8")

