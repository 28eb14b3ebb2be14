"""Handshake-era responses that outlive their connection (2025-11-25 resumability).

Once a response streams, it opens with a priming event (an id, a retry hint, empty
data), and every event is logged in the store before it is sent and carries its id. A
client that lost the connection resumes with GET + ``Last-Event-ID`` on any replica
(http/stream.py) and receives the rest, the final response included.

With ``stream_poll_after`` (the app's, or a tool's own) the server lets go of the
connection itself after that many seconds: it starts the stream if it had not yet, sends
the retry hint and closes, while the call goes on and logs what it sends; the client
polls with GET. So a call can last longer than a platform lets one request stay open.
"""

import asyncio
import contextlib
import logging
from typing import Any

from ..observe.observation import Observation
from ..runtime import Runtime
from ..state.events import Events, RequestLog
from ..state.leases import Slots
from ..state.mailbox import Mailbox
from ..store import StoreError
from ..types import Send
from .channel import ResponseChannel
from .sse import event, priming, retry
from .wire import HeaderList

log = logging.getLogger("edgemcp")
_UNLOCKED = contextlib.nullcontext()


def response_channel(runtime: Runtime, send: Send, observation: Observation, session_id: str,
                     message: dict[str, Any]) -> ResponseChannel:
    """The channel for one handshake-era request of a session: resumable when the store
    keeps event logs."""
    settings = runtime.settings
    if runtime.events is None:
        return ResponseChannel(send, observation, session_id=session_id, mailbox=runtime.mailbox,
                               reply_timeout=settings.reply_timeout, pending=runtime.pending)
    poll_after = settings.stream_poll_after
    if message["method"] == "tools/call":  # a tool of this app's own may ask for its calls
        name = message["params"].get("name")
        tool = runtime.registry.local_tools.get(name) if isinstance(name, str) else None
        if tool is not None and tool.stream_poll_after is not None:
            poll_after = tool.stream_poll_after
    return ResumableChannel(send, observation, session_id=session_id, mailbox=runtime.mailbox,
                            reply_timeout=settings.reply_timeout, pending=runtime.pending, events=runtime.events,
                            retry_ms=round(settings.stream_retry * 1000), poll_after=poll_after)


class ResumableChannel(ResponseChannel):
    def __init__(self, send: Send, observation: Observation, *, session_id: str, mailbox: Mailbox,
                 reply_timeout: float, pending: Slots | None, events: Events, retry_ms: int,
                 poll_after: float | None) -> None:
        super().__init__(send, observation, session_id=session_id, mailbox=mailbox, reply_timeout=reply_timeout,
                         pending=pending)
        self.events = events
        self.log: RequestLog | None = None  # from the moment the response streams
        self.retry_ms = retry_ms
        self.detached = False  # we let go of the connection: events only go to the log
        # With a timer, its task may send while the call's task sends: one at a time.
        self._lock: contextlib.AbstractAsyncContextManager[Any] = _UNLOCKED if poll_after is None else asyncio.Lock()
        self._letting_go: asyncio.Task[None] | None = None
        self._timer = None if poll_after is None else asyncio.get_running_loop().call_later(
            max(0.0, poll_after), self._let_go)

    def _let_go(self) -> None:
        self._letting_go = asyncio.ensure_future(self.detach())

    async def _start_stream(self) -> None:
        assert self.session_id is not None
        opened = self.events.request_log(self.session_id)
        event_id = await opened.open()  # before the head: a store failure is still a plain error
        self.log = opened
        await super()._start_stream()
        await self.send({"type": "http.response.body", "body": priming(event_id, self.retry_ms),
                         "more_body": True})

    async def emit(self, message: dict[str, Any]) -> None:
        async with self._lock:
            if self.closed:
                return
            if self.log is None:
                await self._start_stream()
            assert self.log is not None
            event_id = await self.log.append(message)
            if not self.detached:
                await self.send({"type": "http.response.body", "body": event(message, event_id), "more_body": True})

    async def finish(self, response: dict[str, Any], status: int = 200,
                     headers: HeaderList | None = None) -> None:
        if self._timer is None and not self.streaming:  # the common case: one plain JSON response
            await super().finish(response, status, headers)
            return
        async with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            if self.closed or not (self.streaming or self.detached):
                await super().finish(response, status, headers)  # a plain JSON response
                return
            self.closed = True
            self.observation.stamp(response)
            self.response, self.status = response, status
            assert self.log is not None
            try:
                event_id: str | None = await self.log.append(response, done=True)
            except StoreError:
                log.warning("a response could not be logged for resumption: the store is unreachable")
                event_id = None
            if not self.detached:
                await self.send({"type": "http.response.body", "body": event(response, event_id),
                                 "more_body": False})

    async def end_without_response(self) -> None:
        async with self._lock:  # not while the timer's task starts the stream too
            if self._timer is not None:
                self._timer.cancel()
            if not (self.closed or self.streaming or self.detached):
                try:
                    await self._start_stream()
                except StoreError:  # no log to resume from: a plain empty stream
                    await ResponseChannel._start_stream(self)
        await self.abort()

    async def abort(self) -> None:
        """End without a response (a cancelled request, see ``end_without_response``): the
        log says so too, so a client that resumes is told the stream ended."""
        async with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            if self.log is not None and not self.closed:
                try:
                    await self.log.end()
                except StoreError:
                    log.warning("a stream's end could not be logged: the store is unreachable")
            if self.detached:
                self.closed = True
                return
            await super().abort()

    async def detach(self) -> None:
        """Let go of the connection; the client resumes with GET + Last-Event-ID."""
        async with self._lock:
            if self.closed or self.detached:
                return
            try:
                if not self.streaming:
                    await self._start_stream()  # its priming event carries the retry hint
                else:
                    await self.send({"type": "http.response.body", "body": retry(self.retry_ms), "more_body": True})
            except StoreError:
                return  # cannot log: keep the connection, the response still goes out on it
            self.detached = True
            await self.send({"type": "http.response.body", "body": b"", "more_body": False})
