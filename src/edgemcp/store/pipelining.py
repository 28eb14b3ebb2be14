"""Automatic pipelining for the Redis store: the commands that requests issue in one
event-loop turn go to Redis as one pipeline, one write and one read for all of them.

Under load most requests need one GET (their session) and little else, and redis-py spends
far more CPU per command (a pool checkout, its retry wrapper, a parse) than Redis does: a
batch pays that once. Nothing waits to fill a batch: a command issued alone goes out on
the next loop turn by itself, as it would have anyway.

Only plain one-key commands are batched (GET, SET, DEL, PUBLISH). A failure reaches each
command of the batch as its own exception; a caller that stopped waiting (its deadline
ran out) is skipped.
"""

import asyncio
from typing import Any

Command = tuple[str, tuple[Any, ...], dict[str, Any], "asyncio.Future[Any]"]


class Pipeliner:
    def __init__(self, client: Any) -> None:
        self.client = client
        self._pending: list[Command] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sending: set[asyncio.Task[None]] = set()  # strong references until each is done

    def send(self, name: str, *args: Any, **options: Any) -> "asyncio.Future[Any]":
        """Queue one command; the returned future gets its reply."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop: what a closed one left queued is gone
            self._loop, self._pending = loop, []
        reply: asyncio.Future[Any] = loop.create_future()
        self._pending.append((name, args, options, reply))
        if len(self._pending) == 1:
            # Runs after every callback already ready in this turn: the requests woken
            # together queue their commands first.
            loop.call_soon(self._flush)
        return reply

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        task = asyncio.ensure_future(self._execute(batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _execute(self, batch: list[Command]) -> None:
        try:
            if len(batch) == 1:
                name, args, options, _ = batch[0]
                replies: list[Any] = [await getattr(self.client, name)(*args, **options)]
            else:
                pipeline = self.client.pipeline(transaction=False)
                for name, args, options, _ in batch:
                    getattr(pipeline, name)(*args, **options)
                replies = await pipeline.execute(raise_on_error=False)
        except BaseException as exc:  # the connection failed, or this task was cancelled: all fail
            for *_, reply in batch:
                if not reply.done():
                    reply.set_exception(exc if isinstance(exc, Exception) else ConnectionError("cancelled"))
            if not isinstance(exc, Exception):
                raise
            return
        for (*_, reply), value in zip(batch, replies, strict=True):
            if reply.done():
                continue
            if isinstance(value, Exception):
                reply.set_exception(value)
            else:
                reply.set_result(value)
