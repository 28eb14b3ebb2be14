"""The stores over Cloudflare bindings, under CPython with FAKE bindings (tests/fakes):
Workers KV, the Durable Object store, and the split of the two. The real bindings run in
Pyodide in tests/test_workers_pyodide.py (Miniflare's KV; a fake Durable Object there too,
because Python Durable Objects cannot be hosted offline)."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from edgemcp import EdgeMCP
from edgemcp.app import ConfigurationError
from edgemcp.state import Mailbox
from edgemcp.store import Keyspace, MemoryStore, Store, StoreError
from edgemcp.store.durable import DurableObjectStore
from edgemcp.store.kv import AtomicityRequired, WorkersKVStore, as_bytes, kv_ttl
from edgemcp.store.split import SplitStore

from .fakes.cloudflare import FakeDurableObjectNamespace, FakeKVNamespace

# The key-value contract of tests/test_store.py, run here against the Durable Object
# store (strong and atomic, no pub/sub). Importing the tests makes pytest run them with
# this module's `store` fixture.
from .test_store import (  # noqa: F401
    fresh,
    test_compare_and_set,
    test_concurrent_increments_are_atomic,
    test_get_set_delete,
    test_incr_sets_ttl_only_on_create,
    test_mailbox_delivers_before_and_after_waiting,
    test_token_bucket,
    test_token_bucket_lets_exactly_the_budget_through,
    test_ttl_expires,
)


@pytest.fixture(params=["durable-object", "durable-object-sharded"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    shards = 4 if request.param.endswith("sharded") else 1
    yield DurableObjectStore(FakeDurableObjectNamespace(), shards=shards)


# ----- Workers KV ------------------------------------------------------------------------


async def test_kv_declares_what_it_is() -> None:
    caps = WorkersKVStore(FakeKVNamespace()).capabilities
    assert (caps.consistency, caps.atomic, caps.pubsub, caps.min_ttl) == ("eventual", False, False, 60)


async def test_kv_round_trips_bytes_and_rounds_ttls_up_to_60_seconds() -> None:
    kv = FakeKVNamespace()
    store = WorkersKVStore(kv)
    await store.set("k", b"\x00\xffbinary", ttl=0.5)  # the fake refuses < 60 like KV does
    await store.set("forever", b"v")
    assert await store.get("k") == b"\x00\xffbinary"
    assert kv.puts == [("k", 60), ("forever", None)]
    await store.delete("k")
    assert await store.get("k") is None
    assert kv_ttl(60.2) == 61 and kv_ttl(None) is None


async def test_keyspace_on_kv_floors_ttls_and_expiry_is_honoured() -> None:
    now = [1000.0]
    kv = FakeKVNamespace(clock=lambda: now[0])
    keyspace = Keyspace(WorkersKVStore(kv), "app")
    await keyspace.set("session:1", {"v": 1}, ttl=5)
    now[0] += 59
    assert await keyspace.get("session:1") == {"v": 1}  # 5 s became 60 s
    now[0] += 2
    assert await keyspace.get("session:1") is None


async def test_kv_refuses_atomic_operations_rather_than_racing() -> None:
    store = WorkersKVStore(FakeKVNamespace())
    with pytest.raises(AtomicityRequired):
        await store.incr("n")
    with pytest.raises(AtomicityRequired):
        await store.compare_and_set("k", None, b"v")
    with pytest.raises(AtomicityRequired):
        await store.take("bucket", 5, 1)


async def test_kv_failures_become_store_errors() -> None:
    kv = FakeKVNamespace()
    kv.fail = True
    store = WorkersKVStore(kv)
    with pytest.raises(StoreError, match="Workers KV get failed"):
        await store.get("k")
    with pytest.raises(StoreError, match="Workers KV put failed"):
        await store.set("k", b"v")


async def test_mailbox_polls_through_kv() -> None:
    mailbox = Mailbox(Keyspace(WorkersKVStore(FakeKVNamespace()), "mail"), recheck=0.1)
    async with mailbox.expect("reply:1") as receive:
        waiter = asyncio.ensure_future(receive(3))
        await asyncio.sleep(0.15)
        await mailbox.deliver("reply:1", {"result": {}}, ttl=300)
        assert await waiter == {"result": {}}


async def test_rate_limits_refuse_a_kv_store_at_start() -> None:
    app = EdgeMCP("limited", store=WorkersKVStore(FakeKVNamespace()), secret="k", rate_limit="5/minute")
    with pytest.raises(ConfigurationError, match="rate limiting needs atomic"):
        app.runtime  # noqa: B018


def test_as_bytes_accepts_what_bindings_return() -> None:
    class FakeArrayBuffer:  # a FAKE of Pyodide's JsProxy for an ArrayBuffer
        def to_bytes(self) -> bytes:
            return b"js"

    assert as_bytes(None) is None
    assert as_bytes(memoryview(b"m")) == b"m"
    assert as_bytes(FakeArrayBuffer()) == b"js"
    with pytest.raises(TypeError):
        as_bytes(3.5)


# ----- Durable Object --------------------------------------------------------------------


async def test_durable_object_store_spreads_keys_over_shards() -> None:
    namespace = FakeDurableObjectNamespace()
    store = DurableObjectStore(namespace, shards=4)
    for index in range(40):
        await store.set(f"key:{index}", b"v")
    assert len(namespace.objects) == 4
    assert all(stub.calls > 0 for stub in namespace.objects.values())
    with pytest.raises(ValueError):
        DurableObjectStore(namespace, shards=0)


async def test_rate_limits_accept_the_durable_object_store() -> None:
    app = EdgeMCP("limited", store=DurableObjectStore(FakeDurableObjectNamespace()), secret="k",
                  rate_limit="5/minute")
    assert app.runtime.store.capabilities.atomic


async def test_durable_object_errors_become_store_errors() -> None:
    class FakeBrokenNamespace:  # a FAKE namespace whose object cannot be reached
        def getByName(self, name: str) -> object:
            raise ConnectionError("Durable Object unreachable")

    with pytest.raises(StoreError, match="Durable Object store store_get failed"):
        await DurableObjectStore(FakeBrokenNamespace()).get("k")


# ----- KV and the Durable Object together ----------------------------------------------------


async def test_split_store_sends_exact_kinds_to_the_exact_store() -> None:
    kv = FakeKVNamespace()
    exact = MemoryStore()
    split = SplitStore(WorkersKVStore(kv), exact)
    keyspace = Keyspace(split, "app")
    await keyspace.set("session:abc", {"s": 1}, ttl=3600)
    await keyspace.set("cache:tool:x", {"c": 1}, ttl=10)
    await keyspace.set("reply:abc:edgemcp-1", {"r": 1}, ttl=5)
    assert await keyspace.take("rate:tool:t:all", 2, 1) == 0
    assert await keyspace.compare_and_set("idem:1", None, {"state": "running"})
    assert sorted(kv.data) == ["edgemcp:app:cache:tool:x", "edgemcp:app:session:abc"]
    assert await exact.get("edgemcp:app:reply:abc:edgemcp-1") is not None
    assert await keyspace.get("reply:abc:edgemcp-1") == {"r": 1}
    # The exact store's short TTL stays short: no 60 s floor for replies.
    assert split.capabilities.min_ttl == 0 and split.capabilities.atomic
    assert split.capabilities.consistency == "strong" and not split.capabilities.pubsub
    with pytest.raises(AtomicityRequired):
        await keyspace.compare_and_set("session:abc", None, {"s": 2})  # KV's kind: refused
