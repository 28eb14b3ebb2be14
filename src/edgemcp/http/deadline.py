"""A deadline for reading a request's body (slowloris: a client that sends its headers,
then the body a byte at a time, or never, holds a connection and a task for free).

A timer per request would cost more than a cheap tool call, so each body read is noted
in its loop's ``Readers`` with the current tick; one shared timer, running only while
some body is being read, counts ticks and cancels every read that has been going on for
more than the deadline's worth of them. The reader sees ``CancelledError`` at its
``receive()``, and ``done`` tells it the deadline was the cause. Reads are cancelled
between ``timeout`` and ``timeout + tick`` seconds after they start.
"""

import asyncio
import math
from asyncio import current_task


class Readers:
    """The body reads in progress on one event loop, and the timer that ends late ones."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        self.loop = loop
        self.timeout = timeout
        self.tick = min(1.0, timeout / 2)
        self.ticks = math.ceil(timeout / self.tick)  # a read started at tick n is late at n + ticks + 1
        self.now = 0  # the tick count: no clock read per request
        self.started: dict[asyncio.Task[object], int] = {}
        self.expired: set[asyncio.Task[object]] = set()
        self.ticking = False

    def add(self) -> "asyncio.Task[object]":
        """Note that the current task reads a body, from now; returns the task."""
        task: asyncio.Task[object] = current_task()  # type: ignore[assignment]
        self.started[task] = self.now
        if not self.ticking:
            self.ticking = True
            self.loop.call_later(self.tick, self._tick)
        return task

    def done(self, task: "asyncio.Task[object]") -> bool:
        """Forget the read; True if its deadline passed (the task was cancelled for it)."""
        self.started.pop(task, None)
        if self.expired and task in self.expired:
            self.expired.discard(task)
            return True
        return False

    def _tick(self) -> None:
        self.now += 1
        due = self.now - self.ticks - 1  # a whole tick more: a read may start just before a tick
        for task in [task for task, since in self.started.items() if since <= due]:
            del self.started[task]
            self.expired.add(task)
            task.cancel()
        self.ticking = bool(self.started)
        if self.ticking:
            self.loop.call_later(self.tick, self._tick)


_readers: dict[float, Readers] = {}


def readers(timeout: float) -> Readers:
    """The body reads of the running loop with this deadline."""
    found = _readers.get(timeout)
    loop = asyncio.get_running_loop()
    if found is None or found.loop is not loop:
        found = _readers[timeout] = Readers(loop, timeout)
    return found
