"""One message from one replica to a call waiting on another: a client's reply to a
server-to-client request, or a handshake-era cancellation.

The sender writes the message under a key (with a TTL) and then publishes the key. The
waiter subscribes first, then reads the key, then waits for the publication, and reads
the key again every ``recheck`` seconds. So a message is never missed: not when it
arrives before the waiter subscribed, not when a publication is lost, and not on a store
without pub/sub (Workers KV), where the re-reads back off as a poll.
"""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from ..store import Keyspace


class Mailbox:
    def __init__(self, keyspace: Keyspace, *, recheck: float = 1.0) -> None:
        self.keyspace = keyspace
        self.recheck = recheck
        self.pubsub = keyspace.store.capabilities.pubsub

    async def deliver(self, key: str, message: Any, ttl: float) -> None:
        await self.keyspace.set(key, message, ttl)
        if self.pubsub:
            await self.keyspace.publish(key, True)

    @contextlib.asynccontextmanager
    async def expect(self, key: str) -> AsyncIterator[Callable[[float], Awaitable[Any]]]:
        """Subscribe to ``key``; yields ``receive(within)``, which returns the message or
        raises ``TimeoutError``. The stored message is removed once received."""
        async with contextlib.AsyncExitStack() as stack:
            signals = None
            if self.pubsub:
                signals = await stack.enter_async_context(self.keyspace.subscribe(key))

            async def receive(within: float) -> Any:
                deadline = time.monotonic() + within
                pause = min(0.05, self.recheck)
                while True:
                    message = await self.keyspace.get(key)
                    if message is not None:
                        await self.keyspace.delete(key)
                        return message
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError(f"no message for {key} within {within:g}s")
                    if signals is None:
                        await asyncio.sleep(min(pause, remaining))
                        pause = min(pause * 2, self.recheck)  # back off on a polling store
                        continue
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(signals.get(), min(self.recheck, remaining))

            yield receive
