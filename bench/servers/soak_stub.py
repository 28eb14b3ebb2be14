"""The soak's downstream service: answers every HTTP/1.1 request ``ok`` after
``SOAK_STUB_DELAY_MS`` (20) milliseconds, on keep-alive connections. Raw asyncio (uvloop
when installed), so it costs the soak's load core little.

    python -m servers.soak_stub PORT
"""

import asyncio
import os
import sys

DELAY = float(os.environ.get("SOAK_STUB_DELAY_MS", "20")) / 1000
REPLY = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok"


class Stub(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]  # uvloop's is no subclass
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        loop = asyncio.get_running_loop()
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:  # GETs: no bodies
            self.buffer = self.buffer[end + 4:]
            loop.call_later(DELAY, self.reply)

    def reply(self) -> None:
        if not self.transport.is_closing():
            self.transport.write(REPLY)


async def main(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(Stub, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main(int(sys.argv[1])))
