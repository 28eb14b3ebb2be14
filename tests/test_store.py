"""The key-value contract, run against every backend: the in-memory store, a SQLite file,
a real Redis server and a real three-node Redis cluster."""

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest

from edgemcp import EdgeMCP
from edgemcp.app import ConfigurationError
from edgemcp.state import Mailbox
from edgemcp.store import Capabilities, Keyspace, MemoryStore, Store, open_store

from .conftest import RedisServer


@pytest.fixture(params=["memory", "sqlite", "redis", "cluster"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    if request.param == "memory":
        backend: Store = MemoryStore()
    elif request.param == "sqlite":
        backend = open_store(f"sqlite:///{request.getfixturevalue('tmp_path') / 'store.db'}")
    elif request.param == "redis":
        backend = open_store(request.getfixturevalue("redis_server").url)
    else:
        backend = open_store(request.getfixturevalue("redis_cluster"))
    yield backend
    await backend.aclose()


def fresh(name: str) -> str:
    return f"test:{name}:{secrets.token_hex(4)}"


async def test_get_set_delete(store: Store) -> None:
    key = fresh("kv")
    assert await store.get(key) is None
    await store.set(key, b"\x00binary\xff")
    assert await store.get(key) == b"\x00binary\xff"
    await store.delete(key)
    assert await store.get(key) is None


async def test_ttl_expires(store: Store) -> None:
    key = fresh("ttl")
    await store.set(key, b"v", ttl=0.2)
    assert await store.get(key) == b"v"
    await asyncio.sleep(0.35)
    assert await store.get(key) is None


async def test_incr_sets_ttl_only_on_create(store: Store) -> None:
    key = fresh("counter")
    assert await store.incr(key, 1, ttl=0.3) == 1
    await asyncio.sleep(0.15)
    assert await store.incr(key, 5, ttl=10) == 6  # the first TTL still applies
    await asyncio.sleep(0.25)
    assert await store.get(key) is None


async def test_compare_and_set(store: Store) -> None:
    key = fresh("cas")
    assert await store.compare_and_set(key, None, b"one") is True
    assert await store.compare_and_set(key, None, b"two") is False
    assert await store.compare_and_set(key, b"wrong", b"two") is False
    assert await store.compare_and_set(key, b"one", b"two", ttl=5) is True
    assert await store.get(key) == b"two"


async def test_concurrent_increments_are_atomic(store: Store) -> None:
    key = fresh("race")
    results = await asyncio.gather(*(store.incr(key) for _ in range(50)))
    assert sorted(results) == list(range(1, 51))


async def test_publish_reaches_subscribers_only_after_subscribing(store: Store) -> None:
    channel = fresh("channel")
    await store.publish(channel, b"before")
    async with store.subscribe(channel) as first, store.subscribe(channel) as second:
        await asyncio.sleep(0.05)  # Redis registers the subscription asynchronously
        await store.publish(channel, b"hello")
        assert await asyncio.wait_for(first.get(), 5) == b"hello"
        assert await asyncio.wait_for(second.get(), 5) == b"hello"
        # get() survives a timeout (it is cancel-safe) and still receives later messages.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(first.get(), 0.05)
        await store.publish(channel, b"again")
        assert await asyncio.wait_for(first.get(), 5) == b"again"


async def test_mailbox_delivers_before_and_after_waiting(store: Store) -> None:
    mailbox = Mailbox(Keyspace(store, "mail"), recheck=0.2)
    early, late = fresh("early"), fresh("late")
    await mailbox.deliver(early, {"v": 1}, ttl=5)
    async with mailbox.expect(early) as receive:
        assert await receive(2) == {"v": 1}
    async with mailbox.expect(late) as receive:
        waiter = asyncio.ensure_future(receive(5))
        await asyncio.sleep(0.05)
        await mailbox.deliver(late, {"v": 2}, ttl=5)
        assert await waiter == {"v": 2}
    async with mailbox.expect(fresh("never")) as receive:
        with pytest.raises(TimeoutError):
            await receive(0.3)


async def test_mailbox_polls_a_store_without_pubsub() -> None:
    class EventualStore(MemoryStore):
        capabilities = Capabilities(consistency="eventual", atomic=False, pubsub=False, min_ttl=60)

    mailbox = Mailbox(Keyspace(EventualStore(), "mail"), recheck=0.1)
    async with mailbox.expect("k") as receive:
        waiter = asyncio.ensure_future(receive(3))
        await asyncio.sleep(0.2)
        await mailbox.deliver("k", "late", ttl=60)
        assert await waiter == "late"


def test_keyspace_namespaces_per_app(redis_server: RedisServer) -> None:
    assert Keyspace(MemoryStore(), "weather").key("session:1") == "edgemcp:weather:session:1"


def test_unknown_store_url_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown store URL scheme"):
        open_store("ftp://x")


async def test_missing_capability_fails_at_startup() -> None:
    class EventualStore(MemoryStore):
        capabilities = Capabilities(consistency="eventual", atomic=False, pubsub=False, min_ttl=60)

    app = EdgeMCP("needs-atomic", store=EventualStore(), secret="k")
    app.require_store("rate limits", "atomic operations", lambda caps: caps.atomic)
    messages = iter([{"type": "lifespan.startup"}])
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return next(messages)

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    await app.asgi()({"type": "lifespan"}, receive, send)
    assert sent[0]["type"] == "lifespan.startup.failed"
    assert "rate limits needs atomic operations" in str(sent[0]["message"])
    with pytest.raises(ConfigurationError):
        app.runtime  # noqa: B018


async def test_token_bucket(store: Store) -> None:
    key = fresh("bucket")
    assert [await store.take(key, 3, 10) for _ in range(3)] == [0, 0, 0]
    wait = await store.take(key, 3, 10)
    assert 0 < wait <= 0.1
    await asyncio.sleep(0.15)
    assert await store.take(key, 3, 10) == 0
    assert await store.take(key, 3, 10, cost=-1) == 0  # a refund
    assert await store.take(key, 3, 10) == 0


async def test_token_bucket_lets_exactly_the_budget_through(store: Store) -> None:
    key = fresh("burst")
    waits = await asyncio.gather(*(store.take(key, 5, 0.001) for _ in range(40)))
    assert sum(1 for w in waits if w == 0) == 5


async def test_keyspace_rounds_ttls_up_to_the_store_floor() -> None:
    class FlooredStore(MemoryStore):
        capabilities = Capabilities(consistency="strong", atomic=True, pubsub=True, min_ttl=0.4)

    keyspace = Keyspace(FlooredStore(), "floor")
    await keyspace.set("k", "v", ttl=0.05)
    await asyncio.sleep(0.15)
    assert await keyspace.get("k") == "v"  # the 0.05 s TTL became 0.4 s
    await asyncio.sleep(0.4)
    assert await keyspace.get("k") is None
