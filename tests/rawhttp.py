"""HTTP/1.1 over plain asyncio streams, for tests that open many connections at once or
send a request slowly: no client library in between (a pooled client's own queueing
would be measured instead of the server)."""

import asyncio
import json
from typing import Any


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], Any]:
    """One response with a Content-Length: status, headers (lower-case), JSON body."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), 30)
    return int(lines[0].split()[1]), headers, json.loads(body) if body else None


def request_head(port: int, headers: dict[str, str], length: int, method: str = "POST") -> bytes:
    fields = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return (f"{method} /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{fields}"
            f"Content-Length: {length}\r\n\r\n").encode()


async def post(port: int, headers: dict[str, str], body: Any) -> tuple[int, dict[str, str], Any]:
    """One POST on a connection of its own (``Connection: close``)."""
    data = json.dumps(body).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request_head(port, {**headers, "connection": "close"}, len(data)) + data)
        await writer.drain()
        return await read_response(reader)
    finally:
        writer.close()
