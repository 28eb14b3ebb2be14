"""Handshake-era SSE events that outlive a connection: ids bound to their session, and
bounded logs in the store, so a client that reconnects with ``Last-Event-ID`` to any
replica gets what it missed, in order, once each.

Three logs, all in the store (key kinds ``events`` and ``changes``; on Workers both go to
the exact store, see store/split.py: they change by compare-and-set and every isolate must
read back at once what another wrote):

- a request stream (the SSE response to one POST) is written by the one replica running
  the call: one key per event, then the head record ``{head, first, done}``, so a reader
  that sees head n finds every kept event up to n. The oldest are deleted past
  ``length``; every key expires ``ttl`` after its last write.
- a session's standalone stream (GET) is one record holding its last ``length`` events,
  changed by compare-and-set because several replicas write to it: a message meant for
  the session (``EdgeMCP.notify_message``), or changes copied from the change log. Its
  ``epoch`` changes when the record is made anew (it expired), so old ids never point
  into a new log.
- the app's change log is one record of the last list and resource changes
  (``notify_list_changed``, ``notify_resource_updated``), appended on any replica and
  announced on the ``changes`` channel. A standalone stream copies what is past its
  cursor; the cursor moves in the same compare-and-set as the copy, so each change lands
  once even when two replicas copy at the same moment.

Event ids are ``{stream}.{seq}.{mac}``: ``r…`` names a request stream, ``g{epoch}`` the
standalone stream; the MAC binds stream and position to the session, so an id that was
tampered with, or presented with another session, is refused before any store read.
"""

import base64
import hmac
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..store import Keyspace, StoreError

CHANGES = "changes"  # the pub/sub channel of list and resource changes (subscriptions/listen reads it)
CHANGE_LOG = "changes:log"
CHANGE_LOG_LENGTH = 256
CAS_ATTEMPTS = 16
STANDALONE = "g"  # a session's standalone stream, as its stream ids begin
_ID = re.compile(r"([gr][A-Za-z0-9_-]{8,16})\.([0-9]{1,15})\.([A-Za-z0-9_-]{16})")


async def update(keyspace: Keyspace, name: str, change: Callable[[Any], Any], ttl: float | None) -> Any:
    """Change the record at ``name`` by compare-and-set and return it as stored. ``change``
    gets the current record (None: absent) and returns the new one, or None to leave it;
    it may run more than once, so it must not have side effects."""
    for _ in range(CAS_ATTEMPTS):
        current = await keyspace.get(name)
        updated = change(current)
        if updated is None:
            return current
        if await keyspace.compare_and_set(name, current, updated, ttl):
            return updated
    raise StoreError(f"{name.split(':')[0]} record changed {CAS_ATTEMPTS} times while being updated")


class EventIds:
    def __init__(self, secret: str | bytes) -> None:
        key = secret.encode() if isinstance(secret, str) else secret
        self._key = hmac.digest(key, b"edgemcp.event-id", "sha256")

    def _mac(self, session_id: str, body: str) -> str:
        digest = hmac.digest(self._key, f"{session_id}\n{body}".encode(), "sha256")
        return base64.urlsafe_b64encode(digest[:12]).decode("ascii")

    def make(self, session_id: str, stream: str, seq: int) -> str:
        body = f"{stream}.{seq}"
        return f"{body}.{self._mac(session_id, body)}"

    def parse(self, session_id: str, event_id: str) -> tuple[str, int] | None:
        """``(stream, seq)`` of an id this server made for this session, else None."""
        found = _ID.fullmatch(event_id)
        if found is None:
            return None
        stream, seq, mac = found.groups()
        if not hmac.compare_digest(mac, self._mac(session_id, f"{stream}.{seq}")):
            return None
        return stream, int(seq)


@dataclass(frozen=True, slots=True)
class Batch:
    """Kept events of a request stream after a position, and whether the stream has ended
    (with its response, or without one when its request was cancelled)."""

    events: list[tuple[int, Any]]
    head: int
    done: bool


@dataclass(frozen=True, slots=True)
class Standalone:
    """A session's standalone stream as stored: ``events`` are ``[seq, time, message]``."""

    epoch: str
    head: int
    cursor: int  # the last change-log seq copied in
    events: list[list[Any]]

    @property
    def stream(self) -> str:
        return STANDALONE + self.epoch

    @property
    def first(self) -> int:
        """The oldest seq still kept (head + 1 when none is)."""
        return int(self.events[0][0]) if self.events else self.head + 1


@dataclass(frozen=True, slots=True)
class Changes:
    head: int
    events: list[list[Any]]  # [seq, time, change]

    @property
    def first(self) -> int:
        return int(self.events[0][0]) if self.events else self.head + 1


class RequestLog:
    """The writer of one request stream's log; only the replica running the call has one."""

    def __init__(self, events: "Events", session_id: str) -> None:
        self.events = events
        self.session_id = session_id
        self.head = 0
        self._stream = ""

    @property
    def stream(self) -> str:
        # Named when first needed: most responses never stream, and cost no entropy.
        if not self._stream:
            self._stream = "r" + secrets.token_urlsafe(9)
        return self._stream

    @property
    def name(self) -> str:
        return f"events:{self.session_id}:{self.stream}"

    async def open(self) -> str:
        """Start the log; returns the id of the priming event (position 0)."""
        await self.events.keyspace.set(self.name, {"head": 0, "first": 1, "done": False}, self.events.ttl)
        return self.events.ids.make(self.session_id, self.stream, 0)

    async def append(self, message: Any, done: bool = False) -> str:
        """Log ``message`` (``done``: it is the response that ends the stream); returns its id."""
        self.head += 1
        seq, length, ttl, keyspace = self.head, self.events.length, self.events.ttl, self.events.keyspace
        await keyspace.set(f"{self.name}:{seq}", message, ttl)
        await keyspace.set(self.name, {"head": seq, "first": max(1, seq - length + 1), "done": done}, ttl)
        if seq > length:
            await keyspace.delete(f"{self.name}:{seq - length}")
        await self.events.signal(self.name, seq)
        return self.events.ids.make(self.session_id, self.stream, seq)

    async def end(self) -> None:
        """The stream ends without a response (its request was cancelled): a client that
        resumes gets what is left, then the end."""
        keyspace, length = self.events.keyspace, self.events.length
        await keyspace.set(self.name, {"head": self.head, "first": max(1, self.head - length + 1), "done": True},
                           self.events.ttl)
        await self.events.signal(self.name, self.head)


class Events:
    """The event logs of an app's handshake-era sessions, and their ids."""

    def __init__(self, keyspace: Keyspace, secret: str | bytes, *, length: int, ttl: float,
                 session_ttl: float) -> None:
        if length < 1:
            raise ValueError("an event log keeps at least one event")
        self.keyspace = keyspace
        self.ids = EventIds(secret)
        self.length = length
        self.ttl = ttl
        self.session_ttl = session_ttl
        self.pubsub = keyspace.store.capabilities.pubsub

    # -- names and signals ---------------------------------------------------------------
    @staticmethod
    def channel(session_id: str, stream: str) -> str:
        """Where a stream's new events (and takeovers) are announced; a standalone stream's
        channel is the same whatever its epoch."""
        return f"events:{session_id}:{STANDALONE if stream.startswith(STANDALONE) else stream}"

    async def signal(self, channel: str, payload: Any) -> None:
        if self.pubsub:
            await self.keyspace.publish(channel, payload)

    # -- request streams -----------------------------------------------------------------
    def request_log(self, session_id: str) -> RequestLog:
        return RequestLog(self, session_id)

    async def read_request(self, session_id: str, stream: str, after: int) -> Batch | None:
        """The kept events of a request stream after ``after``; None when its log is gone
        (expired). Events older than the log's length or age are skipped."""
        name = f"events:{session_id}:{stream}"
        head = await self.keyspace.get(name)
        if not isinstance(head, dict):
            return None
        last = int(head["head"])
        found: list[tuple[int, Any]] = []
        for seq in range(max(after + 1, int(head["first"])), last + 1):
            message = await self.keyspace.get(f"{name}:{seq}")
            if message is not None:
                found.append((seq, message))
        return Batch(found, last, bool(head["done"]))

    # -- standalone streams --------------------------------------------------------------
    def _standalone_name(self, session_id: str) -> str:
        return f"events:{session_id}:{STANDALONE}"

    async def standalone(self, session_id: str, *, create: bool = True) -> Standalone | None:
        """The session's standalone stream; made (from the change log's head on) if absent."""
        name = self._standalone_name(session_id)
        record = await self.keyspace.get(name)
        if record is None and create:
            cursor = (await self.changes()).head
            fresh = {"epoch": secrets.token_urlsafe(6), "head": 0, "cursor": cursor, "events": [],
                     "touched": time.time()}
            record = await update(self.keyspace, name, lambda current: current or fresh, self.session_ttl)
        return None if record is None else _standalone(record)

    def _appended(self, record: dict[str, Any], messages: Sequence[Any], **fields: Any) -> dict[str, Any]:
        now = time.time()
        head = int(record["head"])
        kept = [e for e in record["events"] if now - e[1] < self.ttl]
        kept += [[head + i, now, message] for i, message in enumerate(messages, 1)]
        return {**record, **fields, "head": head + len(messages), "events": kept[-self.length:],
                "touched": now}

    async def post(self, session_id: str, messages: Sequence[Any]) -> bool:
        """Append to the session's standalone stream, if it ever had one (else nobody could
        receive them: a new stream starts at the log's head)."""
        def append(record: Any) -> Any:
            return None if record is None else self._appended(record, messages)

        if await update(self.keyspace, self._standalone_name(session_id), append, self.session_ttl) is None:
            return False
        await self.signal(self.channel(session_id, STANDALONE), 0)
        return True

    async def catch_up(self, session_id: str, changes: Changes,
                       select: Callable[[list[list[Any]]], list[Any]],
                       refresh: Callable[[], list[Any]]) -> Standalone | None:
        """Copy the changes past the stream's cursor into it, as ``select`` turns them into
        messages; when some of them are no longer kept, ``refresh()`` stands in for them."""
        def copy(record: Any) -> Any:
            if record is None or int(record["cursor"]) >= changes.head:
                return None
            cursor = int(record["cursor"])
            missed = changes.first > cursor + 1
            messages = refresh() if missed else select([c for c in changes.events if c[0] > cursor])
            return self._appended(record, messages, cursor=changes.head)

        record = await update(self.keyspace, self._standalone_name(session_id), copy, self.session_ttl)
        return None if record is None else _standalone(record)

    async def touch(self, session_id: str) -> None:
        """Keep an open stream's record alive while nothing is written to it."""
        now = time.time()

        def refreshed(record: Any) -> Any:
            if record is None or now - float(record.get("touched", 0)) < self.session_ttl / 2:
                return None
            return {**record, "touched": now}

        await update(self.keyspace, self._standalone_name(session_id), refreshed, self.session_ttl)

    # -- the change log ------------------------------------------------------------------
    async def changes(self) -> Changes:
        record = await self.keyspace.get(CHANGE_LOG)
        return Changes(0, []) if record is None else Changes(int(record["head"]), list(record["events"]))

    async def publish_change(self, change: dict[str, Any]) -> int:
        """Log a change and announce it; returns its seq."""
        now = time.time()

        def append(record: Any) -> Any:
            record = record or {"head": 0, "events": []}
            head = int(record["head"]) + 1
            kept = [e for e in record["events"] if now - e[1] < self.ttl][-(CHANGE_LOG_LENGTH - 1):]
            return {"head": head, "events": [*kept, [head, now, change]]}

        record = await update(self.keyspace, CHANGE_LOG, append, None)
        seq = int(record["head"])
        await self.keyspace.publish(CHANGES, {**change, "seq": seq})
        return seq


def _standalone(record: dict[str, Any]) -> Standalone:
    return Standalone(str(record["epoch"]), int(record["head"]), int(record["cursor"]), list(record["events"]))
