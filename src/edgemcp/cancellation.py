"""Run a request handler inline, cancelling it if a watcher says so.

Most calls end in microseconds, so no watcher task is created for them: a timer starts
the watcher only once the handler has run for ``after`` seconds. When the watcher returns
(the client disconnected, or a ``notifications/cancelled`` arrived), the running task is
cancelled and the handler sees ``CancelledError`` at its current ``await``.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def run_cancellable(
    handler: Awaitable[T], watch: Callable[[], Awaitable[object]], after: float
) -> tuple[T | None, bool]:
    """``(result, False)`` when the handler finished, ``(None, True)`` when it was cancelled
    by the watcher. A cancellation from anywhere else propagates as usual."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    watcher: asyncio.Task[None] | None = None
    fired = False

    async def watch_then_cancel() -> None:
        nonlocal fired
        await watch()
        fired = True
        task.cancel()

    def start_watching() -> None:
        nonlocal watcher
        watcher = loop.create_task(watch_then_cancel())

    timer = loop.call_later(after, start_watching)
    try:
        return await handler, False
    except asyncio.CancelledError:
        if fired and task.uncancel() == 0:
            return None, True
        raise
    finally:
        timer.cancel()
        if watcher is not None and not watcher.done():
            watcher.cancel()
