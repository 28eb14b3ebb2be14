"""Runs tasks in the background of the replica that started (or resumed) them.

For each run: the tool in an asyncio task of its own, with a ``Context`` whose channel is
the task record (``TaskChannel``: progress becomes the status message, input requests
park the task as ``input_required``), and beside it a watcher that renews the run's
lease in the store and waits, through the ``Mailbox``, for a cancellation sent to any
replica (pub/sub where the store has it, else polling about once a second). A
cancellation cancels the tool's asyncio task (it sees ``CancelledError`` at its current
``await``), then runs its ``ctx.on_cancel`` callbacks. When the run ends its outcome is
written to the record by compare-and-set, unless someone settled the task first.

Work that outlives its request needs the platform's consent on serverless hosts: on
Cloudflare Workers the fetch handler sets ``KEEP_ALIVE`` (``ctx.waitUntil``) for the
request, and every run started while serving it is handed to it.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import Any

from ..protocol.context import CancelCallback, CancelCallbacks, Context, InputRequired
from ..protocol.errors import INTERNAL_ERROR, INVALID_REQUEST, MCPError
from ..protocol.principal import Principal
from ..protocol.request import RequestInfo
from ..registry.tools import Tool
from ..state.mailbox import Mailbox
from ..state.tasks import TaskInput, TaskRecord, TaskStore, cancel_key
from ..store import StoreError

log = logging.getLogger("edgemcp")

KEEP_ALIVE: ContextVar[Callable[["asyncio.Future[Any]"], None] | None] = ContextVar(
    "edgemcp_keep_alive", default=None)
WATCH_AFTER = 0.2  # seconds: most tasks end before a watcher would be worth starting
REPORT_EVERY = 0.25  # seconds: progress reported faster than this is coalesced


@contextlib.contextmanager
def keep_alive_with(hook: Callable[["asyncio.Future[Any]"], None]) -> Iterator[None]:
    """Hand every task run started inside this block (and the asyncio tasks it creates)
    to ``hook``: on Workers, ``ctx.waitUntil``."""
    token = KEEP_ALIVE.set(hook)
    try:
        yield
    finally:
        KEEP_ALIVE.reset(token)


def caller_of(info: RequestInfo) -> dict[str, Any]:
    """What a later run of the call needs to know of who made it (sealed in the record)."""
    p = info.principal
    return {"version": info.protocol_version, "capabilities": info.client_capabilities,
            "client": info.client_info, "principal": [p.agent_id, p.subject, p.tenant, sorted(p.scopes)]}


def info_of(caller: dict[str, Any]) -> RequestInfo:
    agent_id, subject, tenant, scopes = caller["principal"]
    return RequestInfo("modern", caller["version"], caller["capabilities"], caller["client"], None,
                       Principal(agent_id, subject, tenant, frozenset(scopes)))


def progress_message(params: dict[str, Any]) -> str:
    message = params.get("message")
    if isinstance(message, str) and message:
        return message
    total = params.get("total")
    return f"{params.get('progress', 0):g} of {total:g}" if isinstance(total, int | float) else f"{params.get('progress', 0):g}"


class TaskChannel:
    """A task run's channel: the task record instead of a response stream."""

    def __init__(self, report: Callable[[str], Awaitable[None]]) -> None:
        self.report = report
        self.cancel_callbacks = CancelCallbacks()

    async def notify(self, method: str, params: dict[str, Any]) -> None:
        if method == "notifications/progress":
            await self.report(progress_message(params))
        # Log messages have no place in a task (the extension carries none): dropped.

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        # Unreachable from Context (a task is 2026-07-28, where asking raises InputRequired).
        raise MCPError(INVALID_REQUEST, f"{method} cannot be sent to the client during a task")

    def on_cancel(self, callback: CancelCallback) -> None:
        self.cancel_callbacks.add(callback)


class TaskRunner:
    def __init__(self, store: TaskStore, mailbox: Mailbox) -> None:
        self.store = store
        self.mailbox = mailbox
        self._running: set[asyncio.Future[Any]] = set()  # held, so no run is collected early

    def start(self, record: TaskRecord, tool: Tool, given: TaskInput, info: RequestInfo) -> None:
        """Run ``tool`` for ``record`` (whose lease for ``record.run`` is held) in the background."""
        run = asyncio.ensure_future(self._execute(record, tool, given, info))
        self._running.add(run)
        run.add_done_callback(self._running.discard)
        keep_alive = KEEP_ALIVE.get()
        if keep_alive is not None:
            keep_alive(run)

    async def _execute(self, record: TaskRecord, tool: Tool, given: TaskInput, info: RequestInfo) -> None:
        assert record.run is not None
        run_id = record.run
        reporter = Reporter(self.store, record.id, run_id)
        channel = TaskChannel(reporter.report)
        ctx = Context(info, channel, progress_token=record.id, answers=dict(given.answers),
                      state=dict(given.state), task_id=record.id)
        work = asyncio.ensure_future(tool.run(given.arguments, ctx))
        stopped: list[str] = []  # why the watcher stopped the work, if it did
        watchers: list[asyncio.Task[None]] = []
        # Most runs end within moments: the watcher starts only if this one goes on.
        loop = asyncio.get_running_loop()
        later = loop.call_later(WATCH_AFTER, lambda: watchers.append(
            loop.create_task(self._watch(record, work, stopped))))
        settle: Callable[[TaskRecord], None] | None
        try:
            result = await work
            settle = completed(result)
        except InputRequired as needed:
            settle = self.parked(record, given, ctx, needed)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if not stopped or (current is not None and current.cancelling()):
                raise  # not ours to stop: the process is shutting down
            settle = expired(tool.name) if stopped[0] == "expired" else None
            await channel.cancel_callbacks.run()
        except MCPError as exc:
            settle = failed(exc.to_error(), f"The call failed: {exc.message}")
        except Exception as exc:
            log.error("task of tool %s raised %s", tool.name, type(exc).__name__)
            settle = failed({"code": INTERNAL_ERROR, "message": "Internal error"},
                            f"Tool '{tool.name}' failed with an internal error.")
        finally:
            later.cancel()
            for watcher in watchers:
                watcher.cancel()
        if reporter.later is not None:
            reporter.later.cancel()
        if settle is not None:
            await self.settle(record.id, run_id, settle)
        with contextlib.suppress(StoreError):
            await self.store.drop_lease(record.id, run_id)

    def parked(self, record: TaskRecord, given: TaskInput, ctx: Context,
               needed: InputRequired) -> Callable[[TaskRecord], None]:
        """The run needs input: keep what it has (answers, state), ask, and stop."""
        kept = TaskInput(given.arguments, ctx.answers, ctx.state, given.caller)
        sealed = self.store.seal(record.id, record.owner, kept)

        def park(current: TaskRecord) -> None:
            current.status, current.run, current.sealed = "input_required", None, sealed
            current.requests = {key: request.wire() for key, request in needed.requests.items()}
            current.message = "Waiting for input: " + ", ".join(sorted(needed.requests))
        return park

    async def settle(self, task_id: str, run_id: str, apply: Callable[[TaskRecord], None]) -> None:
        """Write the run's outcome, if the task is still this run's to settle."""
        def mutate(current: TaskRecord) -> bool:
            if current.status != "working" or current.run != run_id:
                return False  # cancelled, or given up for dead, meanwhile: that stands
            apply(current)
            return True
        try:
            record, changed = await self.store.change(task_id, mutate)
            if changed and record is not None and record.terminal:
                await self.store.release(record.owner, record.ttl_ms / 1000)
        except StoreError:
            # Its lease will lapse: the next reader marks the task failed.
            log.warning("task %s: could not record how it ended (store unavailable)", task_id)

    async def _watch(self, record: TaskRecord, work: "asyncio.Future[Any]", stopped: list[str]) -> None:
        """Renew the lease; stop the work on a cancellation or when the task's time is up."""
        assert record.run is not None
        deadline = record.created + record.ttl_ms / 1000
        beat = self.store.lease / 3
        try:
            async with self.mailbox.expect(cancel_key(record.id)) as receive:
                while True:
                    left = deadline - time.time()
                    if left <= 0:
                        stopped.append("expired")
                        break
                    try:
                        await receive(min(beat, left))
                        stopped.append("cancelled")
                        break
                    except TimeoutError:
                        await self._renew(record.id, record.run)
        except StoreError:
            # Cannot hear cancellations: keep the lease alive until the work ends by itself.
            log.warning("task %s: cannot watch for cancellation (store unavailable)", record.id)
            while time.time() < deadline:
                await asyncio.sleep(beat)
                await self._renew(record.id, record.run)
            stopped.append("expired")
        work.cancel()

    async def _renew(self, task_id: str, run_id: str) -> None:
        try:
            await self.store.hold_lease(task_id, run_id)
        except StoreError:
            log.warning("task %s: could not renew its lease (store unavailable)", task_id)


class Reporter:
    """Progress as the task's status message, written at most every ``REPORT_EVERY``
    seconds: a faster report waits for the next slot (only the latest one is written)."""

    def __init__(self, store: TaskStore, task_id: str, run_id: str) -> None:
        self.store, self.task_id, self.run_id = store, task_id, run_id
        self.pending: str | None = None
        self.last = 0.0
        self.later: asyncio.Task[None] | None = None

    async def report(self, message: str) -> None:
        self.pending = message
        wait = self.last + REPORT_EVERY - time.monotonic()
        if wait <= 0:
            await self.flush()
        elif self.later is None or self.later.done():
            self.later = asyncio.ensure_future(self._flush_after(wait))

    async def _flush_after(self, wait: float) -> None:
        await asyncio.sleep(wait)
        await self.flush()

    async def flush(self) -> None:
        message, self.pending = self.pending, None
        if message is None:
            return
        self.last = time.monotonic()

        def mutate(current: TaskRecord) -> bool:
            if current.status != "working" or current.run != self.run_id or current.message == message:
                return False
            current.message = message
            return True
        try:
            await self.store.change(self.task_id, mutate)
        except StoreError:
            log.warning("task %s: could not record its progress (store unavailable)", self.task_id)


def completed(result: dict[str, Any]) -> Callable[[TaskRecord], None]:
    def apply(current: TaskRecord) -> None:
        current.status, current.run, current.result = "completed", None, result
    return apply


def failed(error: dict[str, Any], message: str) -> Callable[[TaskRecord], None]:
    def apply(current: TaskRecord) -> None:
        current.status, current.run, current.error, current.message = "failed", None, error, message
    return apply


def expired(tool: str) -> Callable[[TaskRecord], None]:
    message = f"The task ran out of time (its ttlMs) before '{tool}' finished"
    return failed({"code": INTERNAL_ERROR, "message": message}, message)
