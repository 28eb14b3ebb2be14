"""HTTP/1.1 for the router on ASGI hosts: asyncio streams, keep-alive connections per
upstream, and httptools (llhttp, the parser uvicorn uses) to read responses.

Why not httpx: measured on this project's benchmark machine, one httpx request to a local
upstream cost about 530 µs of Python (some 2,900 function calls), more than the whole
request it forwards; this path costs a few tens. A router pays it on every call.
"""

import asyncio
import ssl
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping
from urllib.parse import urlsplit

import httptools

from .outbound import Response

MAX_IDLE = 64  # idle keep-alive connections kept per upstream origin
READ_SIZE = 65536

Origin = tuple[str, str, int]  # scheme, host, port


class _Connection:
    __slots__ = ("origin", "reader", "writer")

    def __init__(self, origin: Origin, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.origin = origin
        self.reader = reader
        self.writer = writer

    def close(self) -> None:
        self.writer.close()


class _Response:
    """One HTTP/1.1 response, parsed by llhttp as the bytes arrive."""

    def __init__(self, connection: _Connection, pool: "StreamOutbound") -> None:
        self.connection = connection
        self.pool = pool
        self.status = 0
        self.headers: dict[str, str] = {}
        self._name = b""
        self._parts: list[bytes] = []
        self._head_done = False
        self._complete = False
        self._keep_alive = False
        self._parser = httptools.HttpResponseParser(self)

    # llhttp's callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        self.headers[key] = f"{self.headers[key]}, {text}" if key in self.headers else text

    def on_headers_complete(self) -> None:
        self.status = self._parser.get_status_code()
        # Asked now: llhttp answers for the message being parsed, not after it ends.
        self._keep_alive = self._parser.should_keep_alive()
        self._head_done = True

    def on_body(self, body: bytes) -> None:
        self._parts.append(body)

    def on_message_complete(self) -> None:
        self._complete = True

    async def _feed(self) -> bool:
        """Read and parse more; False at the end of the connection."""
        data = await self.connection.reader.read(READ_SIZE)
        if not data:
            if not self._head_done:
                raise ConnectionResetError("the connection closed before a response")
            self._parser.feed_data(b"")  # a body that ends with the connection
            self._complete = True
            return False
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            raise ValueError(f"not an HTTP response: {type(exc).__name__}") from None
        return True

    async def start(self) -> None:
        while not self._head_done:
            await self._feed()

    async def chunks(self) -> AsyncIterator[bytes]:
        while True:
            while self._parts:
                yield self._parts.pop(0)
            if self._complete:
                return
            await self._feed()

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.chunks()])

    async def aclose(self) -> None:
        if self._complete and self._keep_alive:
            self.pool.give_back(self.connection)
        else:
            self.connection.close()


class StreamOutbound:
    """HTTP/1.1 over asyncio streams, with keep-alive connections per origin."""

    def __init__(self) -> None:
        self._idle: dict[Origin, list[_Connection]] = defaultdict(list)
        self._tls: ssl.SSLContext | None = None

    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> Response:
        parts = urlsplit(url)
        secure = parts.scheme == "https"
        origin = (parts.scheme, parts.hostname or "", parts.port or (443 if secure else 80))
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        head = [f"POST {target} HTTP/1.1", f"host: {parts.netloc}", f"content-length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        for attempt in range(2):
            connection, reused = await self._connection(origin, secure)
            connection.writer.write(request)
            response = _Response(connection, self)
            try:
                await response.start()
            except ConnectionResetError:
                connection.close()
                if reused and attempt == 0:
                    continue  # the server had closed an idle connection: once more, on a new one
                raise
            except BaseException:
                connection.close()
                raise
            return response
        raise ConnectionResetError("unreachable")

    async def _connection(self, origin: Origin, secure: bool) -> tuple[_Connection, bool]:
        idle = self._idle[origin]
        while idle:
            connection = idle.pop()
            if not connection.reader.at_eof() and not connection.writer.is_closing():
                return connection, True
            connection.close()
        if secure and self._tls is None:
            self._tls = ssl.create_default_context()
        reader, writer = await asyncio.open_connection(
            origin[1], origin[2], ssl=self._tls if secure else None, limit=READ_SIZE)
        return _Connection(origin, reader, writer), False

    def give_back(self, connection: _Connection) -> None:
        idle = self._idle[connection.origin]
        if len(idle) < MAX_IDLE:
            idle.append(connection)
        else:
            connection.close()

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()



