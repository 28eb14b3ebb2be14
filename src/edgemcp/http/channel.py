"""``ResponseChannel``: where one request's output goes. A plain JSON response until
something must be streamed (a notification, or a handshake-era server-to-client
request); then SSE, and every message becomes an event."""

import secrets
from typing import Any

from ..observe.observation import Observation
from ..protocol.context import CancelCallback, CancelCallbacks
from ..protocol.errors import INTERNAL_ERROR, INVALID_REQUEST, RATE_LIMITED, ErrorKind, MCPError
from ..state.leases import LimitReached, Slots
from ..state.mailbox import Mailbox
from ..types import Send
from .sse import SSE_HEADERS, event
from .wire import HeaderList, send_json

REPLY_PREFIX = "edgemcp-"  # the ids of our server-to-client requests


def reply_key(session_id: str, request_id: str) -> str:
    return f"reply:{session_id}:{request_id}"


class ResponseChannel:
    def __init__(self, send: Send, observation: Observation, *, session_id: str | None = None,
                 mailbox: Mailbox | None = None, reply_timeout: float = 300.0, pending: Slots | None = None) -> None:
        self.send = send
        self.observation = observation
        self.session_id = session_id
        self.mailbox = mailbox
        self.reply_timeout = reply_timeout
        self.pending = pending  # the session's requests awaiting replies, counted across replicas
        self.headers: HeaderList = [observation.header]
        self.streaming = False
        self.closed = False
        # What went out, for the request's outcome.
        self.response: dict[str, Any] | None = None
        self.status = 200
        self.cancel_callbacks = CancelCallbacks()  # run by the era's handler on cancellation

    async def _start_stream(self) -> None:
        self.streaming = True
        await self.send({"type": "http.response.start", "status": 200,
                         "headers": SSE_HEADERS + self.headers})

    async def emit(self, message: dict[str, Any]) -> None:
        if self.closed:
            return
        if not self.streaming:
            await self._start_stream()
        await self.send({"type": "http.response.body", "body": event(message), "more_body": True})

    async def notify(self, method: str, params: dict[str, Any]) -> None:
        await self.emit({"jsonrpc": "2.0", "method": method, "params": params})

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """A server-to-client request (handshake era). The reply arrives as a POST that any
        replica may receive; it reaches us through the store."""
        if self.session_id is None or self.mailbox is None:
            raise MCPError(INVALID_REQUEST, f"{method} needs a handshake-era session")
        request_id = f"{REPLY_PREFIX}{secrets.token_urlsafe(12)}"
        slot = None
        if self.pending is not None:
            try:
                slot = await self.pending.take(f"pending:{self.session_id}")
            except LimitReached as exc:
                raise MCPError(RATE_LIMITED, f"Too many requests to the client awaiting replies: this session "
                                             f"has {exc.limit}, the limit", {"per": "session", "limit": exc.limit},
                               kind=ErrorKind.RATE_LIMITED) from None
        try:
            async with self.mailbox.expect(reply_key(self.session_id, request_id)) as receive:
                await self.emit({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
                reply = await receive(self.reply_timeout)
        finally:
            if slot is not None and self.pending is not None:
                await self.pending.give_back(f"pending:{self.session_id}", slot)
        if "error" in reply:
            error = reply["error"] if isinstance(reply["error"], dict) else {}
            raise MCPError(int(error.get("code", INTERNAL_ERROR)),
                           f"Client refused {method}: {error.get('message', 'error')}")
        result = reply.get("result")
        return result if isinstance(result, dict) else {}

    async def finish(self, response: dict[str, Any], status: int = 200,
                     headers: HeaderList | None = None) -> None:
        if self.closed:
            return
        self.closed = True
        self.observation.stamp(response)
        self.response, self.status = response, status
        if self.streaming:
            await self.send({"type": "http.response.body", "body": event(response), "more_body": False})
            return
        await send_json(self.send, status, response, self.headers + (headers or []))

    async def abort(self) -> None:
        """Stop without a response (the request was cancelled)."""
        if not self.closed and self.streaming:
            await self.send({"type": "http.response.body", "body": b"", "more_body": False})
        self.closed = True

    # -- cancellation (the tasks-and-cancellation work) ----------------------------------
    def on_cancel(self, callback: CancelCallback) -> None:
        self.cancel_callbacks.add(callback)

    async def end_without_response(self) -> None:
        """End a cancelled request without a JSON-RPC response, as the spec asks of a
        cancelled request. A POST carrying a request must be answered with JSON or SSE,
        and JSON would be a response: so an SSE stream that ends with no event for it
        (the one already open, or an empty one)."""
        if not self.closed and not self.streaming:
            await self._start_stream()
        await self.abort()
