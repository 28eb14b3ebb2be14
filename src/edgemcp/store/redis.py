"""Redis (or Valkey) through the ``redis`` asyncio client: strong, atomic, instant pub/sub.

``redis://host:port/db`` is one server; ``redis+cluster://host:port`` a cluster. Every
script touches exactly one key, so each runs on that key's shard. Pub/sub goes through one
connection per process: subscriptions are multiplexed over it by a single reader task,
so a waiting call costs a SUBSCRIBE, not a connection.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from .base import Capabilities, StoreError, Subscription
from .pipelining import Pipeliner

try:
    import redis.asyncio as aioredis
    from redis.asyncio.cluster import RedisCluster
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import RedisError
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("the Redis store needs the redis extra: pip install 'edgemcp[redis]'") from exc

# INCRBY that sets the TTL only when it creates the key, atomically.
_INCR = """
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if value == tonumber(ARGV[1]) and tonumber(ARGV[2]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return value
"""
# SET only if the current value is ARGV[1] (ARGV[3] == '1' means: only if absent).
_CAS = """
local current = redis.call('GET', KEYS[1])
if ARGV[3] == '1' then
  if current then return 0 end
elseif current ~= ARGV[1] then
  return 0
end
if tonumber(ARGV[4]) > 0 then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[4])
else
  redis.call('SET', KEYS[1], ARGV[2])
end
return 1
"""

# Token bucket in a hash {tokens, at}; the clock is Redis's own, shared by every replica.
_TAKE = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens < cost then
  wait = (cost - tokens) / rate
else
  tokens = math.min(capacity, tokens - cost)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return tostring(wait)
"""


T = TypeVar("T")

# Connections per process to one Redis. redis-py's default pool fails a command at once
# when all of its connections are busy ("Too many connections"): a burst of concurrent
# requests got 503s from a healthy Redis. Beyond the pool, a command waits for a free
# connection, up to POOL_WAIT seconds (then the store counts as unavailable). A command
# whose connection broke (Redis restarted since it was last used) is sent once more on a
# new one at once; a Redis that is down fails both, and the request gets its 503 without
# waiting out a backoff.
POOL_SIZE = 100
POOL_WAIT = 5.0
RECONNECT = Retry(NoBackoff(), 1)


def _ms(ttl: float | None) -> int:
    return 0 if ttl is None else max(1, int(ttl * 1000))


class RedisStore:
    """``timeout``: seconds each operation may take in all, connecting and redis-py's own
    retries included; past it the operation fails as ``StoreError`` (503), so a slow Redis
    makes requests fail fast instead of piling up. The socket timeouts are the same, so a
    connection stuck on a slow reply is dropped, not reused. redis-py's pool (100
    connections by default, ``max_connections=``) refuses beyond its size: fast too."""

    capabilities = Capabilities(consistency="strong", atomic=True, pubsub=True)

    def __init__(self, url: str, *, timeout: float = 2.0, **options: Any) -> None:
        self.url = url
        self.timeout = timeout
        options.setdefault("socket_timeout", timeout)
        options.setdefault("socket_connect_timeout", timeout)
        self._uninitialized = url.startswith("redis+cluster://")
        self._init_lock = asyncio.Lock()
        if self._uninitialized:
            self.client: Any = RedisCluster.from_url("redis://" + url[len("redis+cluster://"):], **options)
        else:
            pool = aioredis.BlockingConnectionPool.from_url(
                url, **{"max_connections": POOL_SIZE, "timeout": POOL_WAIT, "retry": RECONNECT, **options})
            self.client = aioredis.Redis.from_pool(pool)
        self._incr = self.client.register_script(_INCR)
        self._cas = self.client.register_script(_CAS)
        self._take = self.client.register_script(_TAKE)
        self._hub: _PubSubHub | None = None
        # One server: the plain commands of each loop turn share a pipeline. A cluster
        # client routes each key to its shard itself; its commands go one by one.
        self._pipeliner = None if self._uninitialized else Pipeliner(self.client)

    async def _initialize(self) -> None:
        # A fresh RedisCluster client that receives concurrent first commands can run one of
        # them twice while it discovers the cluster (seen with 50 concurrent INCRs: the
        # counter reached 51). Discover once, before any command.
        async with self._init_lock:
            if self._uninitialized:
                try:
                    await self.client.initialize()
                except RedisError as exc:
                    raise StoreError(f"redis cluster unreachable: {type(exc).__name__}") from exc
                self._uninitialized = False

    async def _run(self, operation: str, command: Callable[[], Awaitable[T]]) -> T:
        """Run one command: the cluster discovered first, any Redis failure a StoreError."""
        if self._uninitialized:
            await self._initialize()
        try:
            async with asyncio.timeout(self.timeout):
                return await command()
        except TimeoutError:  # before OSError, its base class: the deadline ran out
            raise StoreError(f"redis {operation} took longer than {self.timeout:g} s") from None
        except (RedisError, OSError, RuntimeError, AttributeError) as exc:
            # Not only RedisError: during a cluster failover redis-py's cluster client lets
            # races on a closing connection escape as RuntimeError or AttributeError (seen
            # with redis 8.1 under load). A command that failed inside the client is the
            # store failing (503), not a bug of ours (500).
            raise StoreError(f"redis {operation} failed: {type(exc).__name__}") from exc

    def _command(self, name: str, *args: Any, **options: Any) -> Awaitable[Any]:
        if self._pipeliner is not None:
            return self._pipeliner.send(name, *args, **options)
        command: Awaitable[Any] = getattr(self.client, name)(*args, **options)
        return command

    async def get(self, key: str) -> bytes | None:
        value: bytes | None = await self._run("get", lambda: self._command("get", key))
        return value

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        await self._run("set", lambda: self._command("set", key, value, px=_ms(ttl) or None))

    async def delete(self, key: str) -> None:
        await self._run("delete", lambda: self._command("delete", key))

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        return int(await self._run("incr", lambda: self._incr(keys=[key], args=[amount, _ms(ttl)])))

    async def compare_and_set(
        self, key: str, expected: bytes | None, value: bytes, ttl: float | None = None
    ) -> bool:
        absent = "1" if expected is None else "0"
        done = await self._run(
            "compare_and_set", lambda: self._cas(keys=[key], args=[expected or b"", value, absent, _ms(ttl)]))
        return bool(done)

    async def take(self, key: str, capacity: float, per_second: float, cost: float = 1) -> float:
        return float(await self._run("take", lambda: self._take(keys=[key], args=[capacity, per_second, cost])))

    async def publish(self, channel: str, message: bytes) -> None:
        await self._run("publish", lambda: self._command("publish", channel, message))

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        if self._uninitialized:
            await self._initialize()
        loop = asyncio.get_running_loop()
        if self._hub is None or self._hub.loop is not loop:
            self._hub = _PubSubHub(self.client, loop)
        subscription = Subscription()
        await self._hub.add(channel, subscription)
        try:
            yield subscription
        finally:
            await self._hub.remove(channel, subscription)

    async def aclose(self) -> None:
        if self._hub is not None:
            await self._hub.close()
        await self.client.aclose()


class _PubSubHub:
    """One pub/sub connection per process and event loop, shared by every subscriber."""

    def __init__(self, client: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.client = client
        self.loop = loop
        self.pubsub: Any = None
        self.queues: dict[str, set[Subscription]] = {}
        self.reader: asyncio.Task[None] | None = None
        self.lock = asyncio.Lock()

    async def add(self, channel: str, subscription: Subscription) -> None:
        async with self.lock:
            try:
                if self.pubsub is None:
                    self.pubsub = self.client.pubsub()
                if channel not in self.queues:
                    # Written, not yet confirmed: Mailbox re-reads the key, so a message
                    # published before Redis registers this subscription is not lost.
                    await self.pubsub.subscribe(channel)
            except RedisError as exc:
                await self._reset()
                raise StoreError(f"redis subscribe failed: {type(exc).__name__}") from exc
            self.queues.setdefault(channel, set()).add(subscription)
            if self.reader is None or self.reader.done():
                self.reader = asyncio.ensure_future(self._read())

    async def remove(self, channel: str, subscription: Subscription) -> None:
        async with self.lock:
            subscribers = self.queues.get(channel)
            if subscribers is None:
                return
            subscribers.discard(subscription)
            if subscribers:
                return
            del self.queues[channel]
            with contextlib.suppress(RedisError, OSError):
                if self.pubsub is not None:
                    await self.pubsub.unsubscribe(channel)

    async def _read(self) -> None:
        try:
            while self.queues:
                message = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is None or message.get("type") != "message":
                    continue
                channel = message["channel"]
                name = channel.decode() if isinstance(channel, bytes) else channel
                for subscription in list(self.queues.get(name, ())):
                    subscription.queue.put_nowait(message["data"])
        except (RedisError, OSError):
            # Wake every subscriber with an error; the next subscribe reconnects.
            for subscribers in self.queues.values():
                for subscription in subscribers:
                    subscription.queue.put_nowait(Subscription.CLOSED)
            self.queues.clear()
            await self._reset()

    async def _reset(self) -> None:
        if self.pubsub is not None:
            with contextlib.suppress(Exception):
                await self.pubsub.aclose()
        self.pubsub = None

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(BaseException):
                await self.reader
        await self._reset()
