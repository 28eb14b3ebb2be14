"""A SQLite file as the store: one host, any number of processes, state that outlives them.

For the dev server and single-host deployments (``uvicorn --workers 4`` sharing one file),
not for several hosts: SQLite's locks need one machine's file system, not a network share.

Every read-then-write runs in one ``BEGIN IMMEDIATE`` transaction, which takes the file's
write lock before it reads, so ``incr``, ``compare_and_set`` and ``take`` are atomic across
processes, not only across tasks. WAL journal mode lets readers go on while a process
writes; the busy timeout makes a writer wait for the lock rather than fail at once.

Expiry is an absolute wall-clock time (``time.time()``: processes share no monotonic clock);
expired rows read as absent and are swept now and then. Pub/sub is a table of messages that
one poller per store and event loop reads every ``poll_interval`` seconds.
"""

import asyncio
import contextlib
import sqlite3
import struct
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from .base import Capabilities, StoreError, Subscription, refill

T = TypeVar("T")

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS kv"
    " (key TEXT PRIMARY KEY, value BLOB NOT NULL, expires REAL) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS kv_expires ON kv (expires) WHERE expires IS NOT NULL",
    # AUTOINCREMENT: an id is never reused once old messages are pruned, so a poller's
    # cursor (the last id it read) can never hide a new message.
    "CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " channel TEXT NOT NULL, payload BLOB NOT NULL, created REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS messages_created ON messages (created)",
)
_LIVE = "SELECT value FROM kv WHERE key = ? AND (expires IS NULL OR expires > ?)"
_PUT = "INSERT OR REPLACE INTO kv (key, value, expires) VALUES (?, ?, ?)"
_BUCKET = struct.Struct("<dd")  # a token bucket's value: tokens, stamp (wall clock)


def _expiry(ttl: float | None, now: float) -> float | None:
    return None if ttl is None else now + ttl


def _live(conn: sqlite3.Connection, key: str, now: float) -> bytes | None:
    # fetchall, not fetchone: a statement left unfinished keeps its read transaction open,
    # and in WAL mode that pins this connection to an old snapshot of the file.
    rows = conn.execute(_LIVE, (key, now)).fetchall()
    return bytes(rows[0][0]) if rows else None


@contextlib.contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction that holds the file's write lock from its first read."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _reason(exc: BaseException) -> str:
    # SQLite's error name (SQLITE_BUSY, SQLITE_IOERR, ...): short, and never a value.
    return getattr(exc, "sqlite_errorname", None) or type(exc).__name__


class SQLiteStore:
    capabilities = Capabilities(consistency="strong", atomic=True, pubsub=True)

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout: float = 5.0,
        poll_interval: float = 0.05,
        sweep_interval: float = 60.0,
        message_retention: float = 60.0,
    ) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self.poll_interval = poll_interval
        self.sweep_interval = sweep_interval
        self.message_retention = message_retention
        # One thread owns the connection (a sqlite3 connection belongs to the thread that
        # made it) and runs calls in order. A private thread rather than anyio's shared
        # pool: a call that waits out the busy timeout cannot starve other thread users,
        # and the store works from whichever event loop calls it. In-process calls
        # serialize anyway, since SQLite has one writer at a time.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="edgemcp-sqlite")
        self._connection: sqlite3.Connection | None = None  # opened at first use, in the thread
        self._next_sweep = 0.0
        self._closed = False
        self._listener: _Listener | None = None

    @classmethod
    def from_url(cls, url: str) -> "SQLiteStore":
        """``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db`` (as SQLAlchemy)."""
        parts = urlsplit(url)
        path = parts.path[1:]  # after the slash that ends the empty host
        if ":memory:" in (parts.netloc, path):
            raise ValueError("an in-memory SQLite database is one process's own: use memory://,"
                             " or sqlite:///path/to/file.db to share a file")
        if parts.netloc or parts.query or parts.fragment or not path:
            raise ValueError("a SQLite store URL is sqlite:///relative/path.db or"
                             " sqlite:////absolute/path.db, with no host or options")
        return cls(path)

    # --- in the store's thread ---

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        try:
            self._use_wal(conn)
            # In WAL mode, NORMAL loses no commit when a process dies (a reload, a crash);
            # only a power cut may roll back the last ones. FULL would fsync every write.
            conn.execute("PRAGMA synchronous=NORMAL")
            with _immediate(conn):
                for statement in _SCHEMA:
                    conn.execute(statement)
        except BaseException:
            conn.close()
            raise
        return conn

    def _use_wal(self, conn: sqlite3.Connection) -> None:
        # Connections switching a new file to WAL together may get SQLITE_BUSY at once,
        # without the busy timeout (SQLite does not wait where waiting could deadlock):
        # seen when several processes first open a file together. So wait here.
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                conn.execute("PRAGMA journal_mode=WAL").fetchall()
                return
            except sqlite3.OperationalError as exc:
                busy = exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY  # any SQLITE_BUSY_*
                if not busy or time.monotonic() >= deadline:
                    raise
                time.sleep(0.01)

    def _call(self, op: str, job: Callable[[sqlite3.Connection], T], write: bool) -> T:
        try:
            if self._connection is None:
                self._connection = self._connect()
            result = job(self._connection)
            if write and time.monotonic() >= self._next_sweep:
                self._sweep(self._connection)
            return result
        except (sqlite3.Error, OSError, ValueError, struct.error) as exc:
            # ValueError and struct.error: a key that holds no counter or token bucket.
            raise StoreError(f"sqlite store {op} failed: {_reason(exc)}") from exc

    def _sweep(self, conn: sqlite3.Connection) -> None:
        # Only after writes, which just held the lock: reads never wait for a sweep.
        self._next_sweep = time.monotonic() + self.sweep_interval
        now = time.time()
        # Best effort: expired rows read as absent anyway, so a sweep that finds the file
        # busy leaves them for the next one rather than failing the write that ran it.
        with contextlib.suppress(sqlite3.Error):
            conn.execute("DELETE FROM kv WHERE expires <= ?", (now,))
            conn.execute("DELETE FROM messages WHERE created < ?", (now - self.message_retention,))

    def _disconnect(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    # --- on the event loop ---

    async def _run(self, op: str, job: Callable[[sqlite3.Connection], T], *,
                   write: bool = False) -> T:
        if self._closed:
            raise StoreError("sqlite store is closed")
        # If the caller is cancelled, the job still runs to its end in the thread: a
        # transaction is never left half done, only its answer is dropped.
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, self._call, op, job, write)

    async def get(self, key: str) -> bytes | None:
        return await self._run("get", lambda conn: _live(conn, key, time.time()))

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        def put(conn: sqlite3.Connection) -> None:
            now = time.time()
            conn.execute(_PUT, (key, value, _expiry(ttl, now)))

        await self._run("set", put, write=True)

    async def delete(self, key: str) -> None:
        def remove(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM kv WHERE key = ?", (key,))

        await self._run("delete", remove, write=True)

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        def increment(conn: sqlite3.Connection) -> int:
            with _immediate(conn):
                now = time.time()
                current = _live(conn, key, now)
                if current is None:
                    conn.execute(_PUT, (key, str(amount).encode(), _expiry(ttl, now)))
                    return amount
                number = int(current) + amount
                # An UPDATE keeps the expiry set when the counter was created.
                conn.execute("UPDATE kv SET value = ? WHERE key = ?", (str(number).encode(), key))
                return number

        return await self._run("incr", increment, write=True)

    async def compare_and_set(
        self, key: str, expected: bytes | None, value: bytes, ttl: float | None = None
    ) -> bool:
        def swap(conn: sqlite3.Connection) -> bool:
            with _immediate(conn):
                now = time.time()
                if _live(conn, key, now) != expected:
                    return False
                conn.execute(_PUT, (key, value, _expiry(ttl, now)))
                return True

        return await self._run("compare_and_set", swap, write=True)

    async def take(self, key: str, capacity: float, per_second: float, cost: float = 1) -> float:
        def step(conn: sqlite3.Connection) -> float:
            with _immediate(conn):
                now = time.time()  # read under the lock, so stamps follow commit order
                raw = _live(conn, key, now)
                tokens, stamp = _BUCKET.unpack(raw) if raw is not None else (capacity, now)
                tokens, wait = refill(tokens, stamp, now, capacity, per_second, cost)
                # A full bucket needs no row: expire it once it would have refilled.
                conn.execute(_PUT, (key, _BUCKET.pack(tokens, now), now + capacity / per_second + 1))
                return wait

        return await self._run("take", step, write=True)

    async def publish(self, channel: str, message: bytes) -> None:
        def insert(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO messages (channel, payload, created) VALUES (?, ?, ?)",
                         (channel, message, time.time()))

        await self._run("publish", insert, write=True)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        loop = asyncio.get_running_loop()
        if self._listener is None or self._listener.loop is not loop:
            self._listener = _Listener(self, loop)
        listener = self._listener
        subscription = Subscription()
        await listener.add(channel, subscription)
        try:
            yield subscription
        finally:
            listener.remove(channel, subscription)

    async def aclose(self) -> None:
        if self._closed:
            return
        if self._listener is not None and self._listener.loop is asyncio.get_running_loop():
            await self._listener.close()
        # A poller on another event loop stops at its next read: the store is closed.
        self._closed = True
        # Queued after every call already submitted, so those finish first.
        await asyncio.get_running_loop().run_in_executor(self._executor, self._disconnect)
        self._executor.shutdown(wait=False)


def _last_message_id(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM messages").fetchall()[0][0])


def _messages_after(cursor: int, conn: sqlite3.Connection) -> list[tuple[int, str, bytes]]:
    return conn.execute("SELECT id, channel, payload FROM messages WHERE id > ? ORDER BY id",
                        (cursor,)).fetchall()


class _Listener:
    """The poller of one store on one event loop: reads the messages published since its
    last read, from any process, and hands each to this loop's subscriptions."""

    def __init__(self, store: SQLiteStore, loop: asyncio.AbstractEventLoop) -> None:
        self.store = store
        self.loop = loop
        # Per channel: each subscription with the last message id when it subscribed; it
        # gets only later ones, even if the poller's cursor is behind.
        self.channels: dict[str, dict[Subscription, int]] = {}
        self.cursor = 0
        # Held across a poll's read and its hand-out, and across a subscription's start id
        # read and its registration: so a poll either ran before the start id was read (and
        # saw only older messages) or hands out after the subscription is registered.
        self.lock = asyncio.Lock()
        self.reader: asyncio.Task[None] | None = None

    async def add(self, channel: str, subscription: Subscription) -> None:
        async with self.lock:
            start = await self.store._run("subscribe", _last_message_id)
            if not self.channels:
                self.cursor = start  # nobody was listening: skip what was published meanwhile
            self.channels.setdefault(channel, {})[subscription] = start
            if self.reader is None or self.reader.done():
                self.reader = self.loop.create_task(self._read())

    def remove(self, channel: str, subscription: Subscription) -> None:
        subscribers = self.channels.get(channel)
        if subscribers is not None:
            subscribers.pop(subscription, None)
            if not subscribers:
                del self.channels[channel]

    async def _read(self) -> None:
        try:
            while self.channels:
                await asyncio.sleep(self.store.poll_interval)
                async with self.lock:
                    rows = await self.store._run("subscribe", partial(_messages_after, self.cursor))
                    for message_id, channel, payload in rows:
                        self.cursor = message_id
                        for subscription, start in list(self.channels.get(channel, {}).items()):
                            if message_id > start:
                                subscription.queue.put_nowait(bytes(payload))
        except StoreError:
            self._lose_all()

    def _lose_all(self) -> None:
        # Every subscriber wakes with StoreError; the next subscribe starts a new poller.
        for subscribers in self.channels.values():
            for subscription in subscribers:
                subscription.queue.put_nowait(Subscription.CLOSED)
        self.channels.clear()

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader
        self._lose_all()
