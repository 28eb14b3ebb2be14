"""Run a request handler inline, cancelling it if a watcher says so.

Most calls end in microseconds, so no watcher task is created for them. Each in-flight
call is noted in its loop's ``Watchlist``; one shared timer, running only while calls are
in flight, starts the watcher of any call that has run for ``after`` seconds. (A timer
per call cost more than a whole cheap tool call.) When the watcher returns (the client
disconnected, or a ``notifications/cancelled`` arrived), the call's task is cancelled and
the handler sees ``CancelledError`` at its current ``await``.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class _Call:
    __slots__ = ("fired", "since", "task", "watch", "watcher")

    def __init__(self, task: "asyncio.Task[object]", watch: Callable[[], Awaitable[object]],
                 since: int) -> None:
        self.task = task
        self.watch = watch
        self.since = since
        self.watcher: asyncio.Task[None] | None = None
        self.fired = False

    async def watch_then_cancel(self) -> None:
        await self.watch()
        self.fired = True
        self.task.cancel()

    def stop(self) -> None:
        if self.watcher is not None and not self.watcher.done():
            self.watcher.cancel()


class Watchlist:
    """The calls in flight on one event loop, and the timer that starts their watchers."""

    def __init__(self, loop: asyncio.AbstractEventLoop, after: float) -> None:
        self.loop = loop
        self.after = after
        self.calls: set[_Call] = set()
        self.ticking = False
        # Ticks (every after / 2) counted, not a clock read per call: a call noted at tick n
        # is due at tick n + 3, between ``after`` and 1.5 times ``after`` after it began.
        self.now = 0

    def add(self, call: _Call) -> None:
        self.calls.add(call)
        if not self.ticking:
            self.ticking = True
            self.loop.call_later(self.after / 2, self._tick)

    def _tick(self) -> None:
        self.now += 1
        due = self.now - 3
        for call in self.calls:
            if call.watcher is None and call.since <= due:
                call.watcher = self.loop.create_task(call.watch_then_cancel())
        self.ticking = bool(self.calls)
        if self.ticking:
            self.loop.call_later(self.after / 2, self._tick)


_watchlist: Watchlist | None = None


def _watchlist_for(loop: asyncio.AbstractEventLoop, after: float) -> Watchlist:
    global _watchlist
    if _watchlist is None or _watchlist.loop is not loop or _watchlist.after != after:
        _watchlist = Watchlist(loop, after)
    return _watchlist


async def run_cancellable(
    handler: Awaitable[T], watch: Callable[[], Awaitable[object]], after: float
) -> tuple[T | None, bool]:
    """``(result, False)`` when the handler finished, ``(None, True)`` when it was cancelled
    by the watcher (at the earliest ``after`` seconds in, at the latest 1.5 times ``after``).
    A cancellation from anywhere else propagates as usual."""
    loop = asyncio.get_running_loop()
    watchlist = _watchlist
    if watchlist is None or watchlist.loop is not loop or watchlist.after != after:
        watchlist = _watchlist_for(loop, after)
    task = asyncio.current_task(loop)
    assert task is not None
    call = _Call(task, watch, watchlist.now)
    watchlist.add(call)
    try:
        return await handler, False
    except asyncio.CancelledError:
        if call.fired and task.uncancel() == 0:
            return None, True
        raise
    finally:
        watchlist.calls.discard(call)
        if call.watcher is not None:
            call.stop()
