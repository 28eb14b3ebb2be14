"""GET on the MCP endpoint (handshake era): the session's standalone SSE stream, or the
resumption of one of its streams from ``Last-Event-ID``, on whichever replica it lands.

- Without ``Last-Event-ID`` (or with an id of the standalone stream) the GET carries the
  standalone stream: list changes (``notify_list_changed``), updates of the resources the
  session subscribed to (``notify_resource_updated``) and messages meant for the session
  (``notify_message``), made on any replica (state/events.py).
- With the id of a request stream it carries the rest of that POST's response: what the
  client missed, then what comes, up to the final response.

Each GET holds a lease (state/leases.py), renewed at each keepalive; past the session's or
the principal's limit the answer is 429. A new GET for a stream that has a connection
takes it over, and the older connection ends. With ``stream_poll_after`` the server sends
a retry hint and closes the connection after that long; the client comes back with its
last id. 2026-07-28 has no GET stream: 405.
"""

import asyncio
import contextlib
import logging
from typing import Any

from ..protocol.errors import (
    MCPError,
    invalid_request,
    unavailable,
    unsupported_version,
)
from ..protocol.versions import MODERN_VERSIONS, SUPPORTED_VERSIONS
from ..runtime import STREAM_LEASE_PERIOD, Runtime
from ..state.events import CHANGES, STANDALONE, Events
from ..state.leases import Lease, LimitReached
from ..store import StoreError
from ..types import Receive, Send
from .caller import holder
from .handshake import load_session
from .listen import change_notification, too_many_streams
from .sse import KEEPALIVE, SSE_HEADERS, event, priming, retry
from .wire import Headers, Refusal, accepts, refuse, send_empty, wait_disconnect

log = logging.getLogger("edgemcp")

RECHECK_SECONDS = 1.0  # how often a stream re-reads its log on a store without pub/sub
LIST_KINDS = frozenset({"tools", "prompts", "resources"})
Outgoing = list[tuple[str | None, dict[str, Any]]]  # (event id, message)


class Completed(Exception):
    """The stream ended and the client has all of it: nothing to resume."""


async def serve(runtime: Runtime, headers: Headers, receive: Receive, send: Send) -> None:
    try:
        version = headers.protocol("mcp-protocol-version")
    except MCPError as exc:
        raise Refusal(exc) from None
    if version in MODERN_VERSIONS:
        raise refuse(405, "Method Not Allowed: 2026-07-28 has no GET stream (use subscriptions/listen)",
                     headers=[(b"allow", b"POST")])
    if version is not None and version not in SUPPORTED_VERSIONS:
        raise Refusal(unsupported_version(version, SUPPORTED_VERSIONS))
    events, leases = runtime.events, runtime.leases
    if events is None or leases is None:
        raise refuse(405, "Method Not Allowed: this server keeps no SSE streams (its store has no atomic, "
                          "strongly consistent operations)", headers=[(b"allow", b"POST, DELETE")])
    if not accepts(headers.get("accept"), "text/event-stream"):
        raise refuse(406, "Not Acceptable: Accept must list text/event-stream")
    session, principal = await load_session(runtime, headers)
    position = None
    last_event_id = headers.get("last-event-id")
    if last_event_id is not None:
        position = events.ids.parse(session.id, last_event_id)
        if position is None:
            raise Refusal(invalid_request("Bad Request: Last-Event-ID is not an event of this session"))
    source: Source
    if position is not None and not position[0].startswith(STANDALONE):
        source = RequestSource(events, session.id, *position)
    else:
        source = StandaloneSource(runtime, session.id, position)
    try:
        lease, replaced = await leases.acquire(session.id, holder(principal, headers), source.lease_name)
    except LimitReached as exc:
        raise Refusal(too_many_streams(exc)) from None
    except StoreError:
        raise Refusal(unavailable()) from None
    try:
        await Holder(runtime, session.id, lease, receive, send).run(source, bool(replaced))
    finally:
        await leases.release(lease)


class Source:
    """What one GET stream carries."""

    lease_name: str
    channels: list[str]  # pub/sub channels that announce something new

    async def start(self) -> str:
        """Read where the stream stands (may refuse before the response starts); returns
        the id of the position the stream starts from."""
        raise NotImplementedError

    async def pending(self) -> tuple[Outgoing, bool]:
        """What to send now, and whether the stream is complete."""
        raise NotImplementedError

    async def touch(self) -> None:
        """Keep what the stream reads alive while it is open."""


class RequestSource(Source):
    def __init__(self, events: Events, session_id: str, stream: str, after: int) -> None:
        self.events = events
        self.session_id = session_id
        self.stream = stream
        self.after = after
        self.lease_name = stream
        self.channels = [Events.channel(session_id, stream)]
        self.first: Any = None

    async def start(self) -> str:
        batch = await self.events.read_request(self.session_id, self.stream, self.after)
        if batch is None:
            raise Refusal(invalid_request(
                f"Gone: that stream's events are no longer kept (they are kept {self.events.ttl:g} s)"), status=410)
        if batch.done and self.after >= batch.head:
            raise Completed
        self.first = batch
        return self.events.ids.make(self.session_id, self.stream, self.after)

    async def pending(self) -> tuple[Outgoing, bool]:
        batch, self.first = self.first, None
        if batch is None:
            batch = await self.events.read_request(self.session_id, self.stream, self.after)
        if batch is None:
            return [], True  # expired while the call ran on without a word
        out: Outgoing = []
        for seq, message in batch.events:
            out.append((self.events.ids.make(self.session_id, self.stream, seq), message))
            self.after = seq
        return out, batch.done and self.after >= batch.head


class StandaloneSource(Source):
    def __init__(self, runtime: Runtime, session_id: str, position: tuple[str, int] | None) -> None:
        assert runtime.events is not None
        self.runtime = runtime
        self.events = runtime.events
        self.session_id = session_id
        self.position = position
        self.lease_name = STANDALONE
        self.channels = [CHANGES, Events.channel(session_id, STANDALONE)]
        self.epoch = ""
        self.after = 0
        self.backlog: list[dict[str, Any]] = []

    async def start(self) -> str:
        record = await self.events.standalone(self.session_id)
        assert record is not None
        self.epoch, self.after = record.epoch, record.head
        if self.position is not None:
            stream, seq = self.position
            if stream == record.stream and record.first - 1 <= seq <= record.head:
                self.after = seq
            else:
                # Some of what the client missed is no longer kept (or the log was made
                # anew): tell it that anything may have changed, then go on.
                self.backlog = self.refresh(await self.subscriptions())
                if stream == record.stream and seq < record.first - 1:
                    self.after = record.first - 1
        return self.events.ids.make(self.session_id, record.stream, self.after)

    async def subscriptions(self) -> dict[str, int]:
        session = await self.runtime.sessions.load(self.session_id)
        return session.subscriptions if session is not None else {}

    def refresh(self, subscriptions: dict[str, int]) -> list[dict[str, Any]]:
        offers = self.runtime.catalog.offers
        kinds = [kind for kind, offered in (("tools", offers.tools), ("prompts", offers.prompts),
                                            ("resources", offers.resources)) if offered]
        notes = [{"jsonrpc": "2.0", "method": f"notifications/{kind}/list_changed", "params": {}} for kind in kinds]
        return notes + [{"jsonrpc": "2.0", "method": "notifications/resources/updated", "params": {"uri": uri}}
                        for uri in subscriptions]

    async def pending(self) -> tuple[Outgoing, bool]:
        out: Outgoing = [(None, message) for message in self.backlog]
        self.backlog = []
        changes = await self.events.changes()
        record = await self.events.standalone(self.session_id)
        assert record is not None
        if record.cursor < changes.head:
            wanted = {}
            if any(c[2].get("kind") == "resource" for c in changes.events if c[0] > record.cursor):
                wanted = await self.subscriptions()

            def select(new: list[list[Any]]) -> list[Any]:
                notes = [change_notification(change, set(LIST_KINDS), {"resourceSubscriptions": [
                    uri for uri, since in wanted.items() if since < seq]}) for seq, _, change in new]
                return [note for note in notes if note is not None]

            record = await self.events.catch_up(self.session_id, changes, select, lambda: self.refresh(wanted)) \
                or record
        if record.epoch != self.epoch:  # the log was made anew while we held it: all of it is new
            self.epoch, self.after = record.epoch, 0
        for seq, _, message in record.events:
            if seq > self.after:
                out.append((self.events.ids.make(self.session_id, record.stream, seq), message))
                self.after = seq
        return out, False

    async def touch(self) -> None:
        await self.events.touch(self.session_id)


class Holder:
    """One open GET stream: its connection, its lease, and what wakes it."""

    def __init__(self, runtime: Runtime, session_id: str, lease: Lease, receive: Receive, send: Send) -> None:
        assert runtime.events is not None and runtime.leases is not None
        self.runtime = runtime
        self.events = runtime.events
        self.leases = runtime.leases
        self.session_id = session_id
        self.lease = lease
        self.receive = receive
        self.send = send
        self.retry_ms = round(runtime.settings.stream_retry * 1000)

    async def _body(self, body: bytes, more: bool = True) -> None:
        await self.send({"type": "http.response.body", "body": body, "more_body": more})

    async def run(self, source: Source, took_over: bool) -> None:
        started = False
        try:
            async with contextlib.AsyncExitStack() as stack:
                signals = []
                if self.events.pubsub:  # subscribe before reading: nothing announced in between is lost
                    for channel in source.channels:
                        signals.append(await stack.enter_async_context(self.events.keyspace.subscribe(channel)))
                try:
                    start_id = await source.start()
                except Completed:
                    await send_empty(self.send, 204)
                    return
                if took_over:  # the connection that had this stream ends
                    await self.events.signal(source.channels[-1], {"takeover": self.lease.id})
                await self.send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
                started = True
                await self._body(priming(start_id, self.retry_ms))
                await self._relay(source, signals)
        except StoreError:
            if not started:
                raise Refusal(unavailable()) from None
            log.warning("a GET stream ended: the store is unreachable")
        if started:
            await self._body(b"", more=False)

    async def _relay(self, source: Source, signals: list[Any]) -> None:
        loop = asyncio.get_running_loop()
        poll_after = self.runtime.settings.stream_poll_after
        deadline = None if poll_after is None else loop.time() + poll_after
        next_tick = loop.time() + STREAM_LEASE_PERIOD
        pause = 0.05
        disconnect = asyncio.ensure_future(wait_disconnect(self.receive))
        waiting = {asyncio.ensure_future(signal.get()): signal for signal in signals}
        try:
            while True:
                out, complete = await source.pending()
                for event_id, message in out:
                    await self._body(event(message, event_id))
                if complete:
                    return
                now = loop.time()
                timeout = min(t for t in (next_tick, deadline) if t is not None) - now
                if not signals:  # poll the store, backing off
                    timeout, pause = min(timeout, pause), min(pause * 2, RECHECK_SECONDS)
                done, _ = await asyncio.wait([*waiting, disconnect], timeout=max(0.0, timeout),
                                             return_when=asyncio.FIRST_COMPLETED)
                if disconnect.done():
                    return
                for task in [t for t in waiting if t in done]:
                    signal = waiting.pop(task)
                    payload = task.result()  # a StoreError when the subscription was lost
                    if isinstance(payload, dict) and payload.get("takeover") not in (None, self.lease.id):
                        return  # a newer GET carries this stream now
                    waiting[asyncio.ensure_future(signal.get())] = signal
                now = loop.time()
                if deadline is not None and now >= deadline:
                    await self._body(retry(self.retry_ms))  # let go; the client polls with its last id
                    return
                if now >= next_tick:
                    await self._body(KEEPALIVE)
                    if not await self.leases.renew(self.lease):
                        return  # taken over, or expired
                    if await self.runtime.sessions.load(self.session_id) is None:
                        return  # the session ended
                    await source.touch()
                    next_tick = now + STREAM_LEASE_PERIOD
        finally:
            for task in [*waiting, disconnect]:
                task.cancel()
            await asyncio.gather(*waiting, disconnect, return_exceptions=True)
