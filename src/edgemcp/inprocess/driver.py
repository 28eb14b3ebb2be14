"""Drive an ASGI app in this process, no sockets: its lifespan around a block, and HTTP
requests whose responses STREAM.

httpx's ``ASGITransport`` hands back a response only once the app has finished it. A
handshake-era call that asks the client something (elicitation, sampling) cannot finish
until the client answers a request that sits on that very response: buffering deadlocks.
Here each request runs as its own task, the caller reads the body as the app sends it,
and can send further requests (the answer) while the first is still streaming.

Each request is one ASGI ``http`` scope, the body given at once; ``receive`` then reports
a disconnect once the caller closes the response or the app has sent all of it, as a
server does.
"""

import asyncio
import logging
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

from ..types import ASGIApp, Message

log = logging.getLogger("edgemcp")

HeaderList = list[tuple[bytes, bytes]]
_END = object()  # the last item of a response's chunk queue


class StartupFailed(Exception):
    """The app's lifespan startup failed (its message says why)."""


class Response:
    """One HTTP response as the app sends it: status and headers, then the body in chunks.
    Close it (or use it as an async context manager) to disconnect: the app sees
    ``http.disconnect``, which in the 2026-07-28 era cancels the call."""

    def __init__(self, status: int, headers: HeaderList, chunks: "asyncio.Queue[object]",
                 disconnected: asyncio.Event) -> None:
        self.status = status
        self.raw_headers = headers
        # Lower-case names; a repeated header keeps its first value (``raw_headers`` has all).
        self.headers: dict[str, str] = {}
        for name, value in headers:
            self.headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
        self._chunks = chunks
        self._disconnected = disconnected
        self._ended = False

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives. Raises what the app raised if it failed midway."""
        while not self._ended:
            item = await self._chunks.get()
            if item is _END:
                self._ended = True
            elif isinstance(item, BaseException):
                self._ended = True
                raise item
            else:
                assert isinstance(item, bytes)
                yield item

    async def body(self) -> bytes:
        return b"".join([chunk async for chunk in self.chunks()])

    def close(self) -> None:
        self._disconnected.set()

    async def __aenter__(self) -> "Response":
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        self.close()


class InProcess:
    """``async with InProcess(app) as driver: response = await driver.request(...)``.

    Entering runs the app's lifespan startup (``StartupFailed`` if the app refuses to
    start; apps without lifespan support are fine) and leaving cancels requests still
    running, then runs the shutdown."""

    def __init__(self, app: ASGIApp, *, client: tuple[str, int] = ("127.0.0.1", 50000),
                 server: tuple[str, int] = ("localhost", 80)) -> None:
        self.app = app
        self.client = client
        self.server = server
        self.state: dict[str, Any] = {}  # lifespan state, copied into each request's scope
        self._requests: set[asyncio.Task[None]] = set()
        self._lifespan: asyncio.Task[None] | None = None
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._started = False

    # -- lifespan --------------------------------------------------------------------
    async def __aenter__(self) -> "InProcess":
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}

        async def run() -> None:
            try:
                await self.app(scope, self._to_app.get, self._send_lifespan)
            except Exception:
                # Raising on a lifespan scope is how an app says it has no lifespan; after
                # startup it is a crash in the app's shutdown.
                if self._started:
                    log.exception("the app's lifespan failed")
            finally:
                self._from_app.put_nowait({"type": "lifespan.ended"})

        self._lifespan = asyncio.create_task(run())
        await self._to_app.put({"type": "lifespan.startup"})
        answer = await self._from_app.get()
        if answer["type"] == "lifespan.startup.failed":
            await self._lifespan
            raise StartupFailed(str(answer.get("message") or "the app failed to start"))
        self._started = answer["type"] == "lifespan.startup.complete"
        return self

    async def _send_lifespan(self, message: Message) -> None:
        await self._from_app.put(message)

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        await self.cancel_requests()
        if self._lifespan is None:
            return
        if self._started:
            await self._to_app.put({"type": "lifespan.shutdown"})
            while (await self._from_app.get())["type"] not in ("lifespan.shutdown.complete",
                                                               "lifespan.shutdown.failed", "lifespan.ended"):
                pass
        self._lifespan.cancel()
        await asyncio.gather(self._lifespan, return_exceptions=True)

    async def cancel_requests(self) -> None:
        """Cancel every request still running (the caller is going away)."""
        running = list(self._requests)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    @property
    def running(self) -> int:
        return len(self._requests)

    async def wait_requests(self) -> None:
        """Wait until no request is running."""
        while self._requests:
            await asyncio.gather(*list(self._requests), return_exceptions=True)

    # -- requests --------------------------------------------------------------------
    async def request(self, method: str, path: str, headers: HeaderList, body: bytes = b"") -> Response:
        """Send a request; returns once the app has started its response. The body then
        streams from ``Response.chunks()``. What the app raises before it starts a
        response is raised here."""
        path_part, _, query = path.partition("?")
        scope: dict[str, Any] = {
            "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
            "method": method, "scheme": "http", "path": path_part, "raw_path": path_part.encode(),
            "query_string": query.encode(), "root_path": "", "headers": headers,
            "client": self.client, "server": self.server, "state": dict(self.state),
        }
        started: asyncio.Future[tuple[int, HeaderList]] = asyncio.get_running_loop().create_future()
        # Mark a failure as seen even when the caller was cancelled before awaiting it.
        started.add_done_callback(lambda future: future.cancelled() or future.exception())
        chunks: asyncio.Queue[object] = asyncio.Queue()
        disconnected = asyncio.Event()
        task = asyncio.create_task(self._run(scope, body, started, chunks, disconnected))
        self._requests.add(task)
        task.add_done_callback(self._requests.discard)
        try:
            status, response_headers = await asyncio.shield(started)
        except asyncio.CancelledError:
            disconnected.set()
            raise
        return Response(status, response_headers, chunks, disconnected)

    async def _run(self, scope: dict[str, Any], body: bytes, started: "asyncio.Future[tuple[int, HeaderList]]",
                   chunks: "asyncio.Queue[object]", disconnected: asyncio.Event) -> None:
        sent_body = False
        complete = False

        async def receive() -> Message:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            await disconnected.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal complete
            if message["type"] == "http.response.start":
                if not started.done():
                    started.set_result((int(message["status"]), list(message.get("headers") or [])))
            elif message["type"] == "http.response.body" and not complete:
                if not started.done():
                    raise RuntimeError("the app sent a body before starting its response")
                if disconnected.is_set():
                    return  # nobody reads any more: drop it, as a server would
                data = bytes(message.get("body") or b"")
                if data:
                    chunks.put_nowait(data)
                if not message.get("more_body", False):
                    complete = True
                    chunks.put_nowait(_END)
                    disconnected.set()  # a finished response: receive() now says disconnect

        try:
            await self.app(scope, receive, send)
        except Exception as exc:
            if not started.done():
                started.set_exception(exc)
            else:
                chunks.put_nowait(exc)
            return
        except asyncio.CancelledError:
            if not started.done():
                started.cancel()
            chunks.put_nowait(_END)
            raise
        if not started.done():
            started.set_exception(RuntimeError("the app returned without a response"))
        elif not complete:
            chunks.put_nowait(_END)
