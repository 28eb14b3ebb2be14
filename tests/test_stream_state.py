"""The state behind handshake-era streams (state/events.py, state/leases.py), on the
memory store and on a real Redis: event ids bound to their session, bounded logs, each
change copied once however many replicas copy it at the same moment, the lease limits,
takeover, and the routing of these kinds to the exact store on Workers."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from edgemcp.state.events import CHANGE_LOG_LENGTH, EventIds, Events
from edgemcp.state.leases import LimitReached, StreamLeases
from edgemcp.store import Keyspace, MemoryStore
from edgemcp.store.redis import RedisStore
from edgemcp.store.split import SplitStore

from .conftest import RedisServer


@pytest.fixture(params=["memory", "redis"])
async def keyspace(request: pytest.FixtureRequest, redis_server: RedisServer) -> AsyncIterator[Keyspace]:
    if request.param == "memory":
        yield Keyspace(MemoryStore(), "state-test")
        return
    store = RedisStore(redis_server.url)
    # A namespace of the test's own on the shared server: no test sees another's records.
    yield Keyspace(store, f"state-test-{request.node.name}".replace("[", "-").replace("]", ""))
    await store.aclose()


def events_over(keyspace: Keyspace, length: int = 200, ttl: float = 60.0) -> Events:
    return Events(keyspace, "secret", length=length, ttl=ttl, session_ttl=600.0)


def test_event_ids_are_bound_to_their_session() -> None:
    ids = EventIds("secret")
    made = ids.make("session-a", "rabcdefghij", 7)
    assert ids.parse("session-a", made) == ("rabcdefghij", 7)
    assert ids.parse("session-b", made) is None  # another session's id
    stream, seq, mac = made.split(".")
    assert ids.parse("session-a", f"{stream}.8.{mac}") is None  # another position
    assert ids.parse("session-a", f"rzzzzzzzzzz.{seq}.{mac}") is None  # another stream
    assert EventIds("other secret").parse("session-a", made) is None
    assert ids.parse("session-a", made + "\n") is None and ids.parse("session-a", "") is None


async def test_a_request_log_keeps_its_last_events(keyspace: Keyspace) -> None:
    events = events_over(keyspace, length=3)
    log = events.request_log("s1")
    primed = await log.open()
    assert events.ids.parse("s1", primed) == (log.stream, 0)
    for n in range(1, 6):
        await log.append({"n": n}, done=n == 5)
    batch = await events.read_request("s1", log.stream, 0)
    assert batch is not None and batch.head == 5 and batch.done
    assert batch.events == [(3, {"n": 3}), (4, {"n": 4}), (5, {"n": 5})]  # the first two were trimmed
    assert await keyspace.get(f"events:s1:{log.stream}:2") is None
    later = await events.read_request("s1", log.stream, 4)
    assert later is not None and later.events == [(5, {"n": 5})]
    assert await events.read_request("s1", "rnosuchstream", 0) is None


async def test_a_request_log_expires(keyspace: Keyspace) -> None:
    events = events_over(keyspace, ttl=0.2)
    log = events.request_log("s1")
    await log.open()
    await log.append({"n": 1})
    assert await events.read_request("s1", log.stream, 0) is not None
    await asyncio.sleep(0.5)
    assert await events.read_request("s1", log.stream, 0) is None


def as_messages(changes: list[list[Any]]) -> list[Any]:
    return [{"seq": seq, **change} for seq, _, change in changes]


async def test_each_change_is_copied_once_however_many_copy_it(keyspace: Keyspace) -> None:
    events = events_over(keyspace)
    record = await events.standalone("s1")
    assert record is not None and record.head == 0 and record.cursor == 0
    for kind in ("tools", "prompts", "resources"):
        await events.publish_change({"kind": kind})
    changes = await events.changes()
    assert changes.head == 3
    copies = await asyncio.gather(*(events.catch_up("s1", changes, as_messages, lambda: ["refresh"])
                                    for _ in range(6)))
    assert all(copy is not None and copy.cursor == 3 for copy in copies)
    record = await events.standalone("s1", create=False)
    assert record is not None
    assert [(seq, message) for seq, _, message in record.events] == [
        (1, {"seq": 1, "kind": "tools"}), (2, {"seq": 2, "kind": "prompts"}), (3, {"seq": 3, "kind": "resources"})]


async def test_changes_no_longer_kept_are_stood_in_for(keyspace: Keyspace) -> None:
    events = events_over(keyspace)
    await events.standalone("s1")
    for _ in range(CHANGE_LOG_LENGTH + 2):
        await events.publish_change({"kind": "tools"})
    changes = await events.changes()
    assert len(changes.events) == CHANGE_LOG_LENGTH and changes.first == 3
    record = await events.catch_up("s1", changes, as_messages, lambda: ["refresh"])
    assert record is not None and [e[2] for e in record.events] == ["refresh"]
    assert record.cursor == CHANGE_LOG_LENGTH + 2


async def test_a_standalone_log_is_bounded_and_only_posted_to_once_opened(keyspace: Keyspace) -> None:
    events = events_over(keyspace, length=3)
    assert await events.post("s1", [{"n": 0}]) is False  # no stream was ever opened
    await events.standalone("s1")
    for n in range(1, 6):
        assert await events.post("s1", [{"n": n}])
    record = await events.standalone("s1", create=False)
    assert record is not None and record.head == 5 and record.first == 3
    assert [e[2] for e in record.events] == [{"n": 3}, {"n": 4}, {"n": 5}]


async def test_leases_limit_take_over_and_free(keyspace: Keyspace) -> None:
    leases = StreamLeases(keyspace, per_session=2, per_principal=3, period=15.0)
    standalone, _ = await leases.acquire("s1", "alice", "g")
    await leases.acquire("s1", "alice", "r1")
    with pytest.raises(LimitReached) as full:
        await leases.acquire("s1", "alice", "r2")
    assert (full.value.per, full.value.limit) == ("session", 2)

    newer, replaced = await leases.acquire("s1", "alice", "g")  # a new GET for the same stream
    assert replaced == [standalone.id]
    assert await leases.renew(standalone) is False and await leases.renew(newer) is True

    other, _ = await leases.acquire("s2", "alice", "g")
    with pytest.raises(LimitReached) as over:
        await leases.acquire("s3", "alice", "g")
    assert (over.value.per, over.value.limit) == ("principal", 3)
    await leases.acquire("s3", "bob", "g")  # someone else's budget
    await leases.release(other)
    await leases.acquire("s3", "alice", "g")


async def test_on_a_split_store_stream_state_goes_to_the_exact_store() -> None:
    cheap, exact = MemoryStore(), MemoryStore()
    keyspace = Keyspace(SplitStore(cheap, exact), "app")
    events = events_over(keyspace)
    await events.publish_change({"kind": "tools"})
    await events.standalone("s1")
    log = events.request_log("s1")
    await log.open()
    await StreamLeases(keyspace, per_session=1, per_principal=1, period=15.0).acquire("s1", "alice", "g")
    keys = ["changes:log", "events:s1:g", f"events:s1:{log.stream}", "streams:s:s1"]
    for key in keys:
        assert await exact.get(keyspace.key(key)) is not None, key
        assert await cheap.get(keyspace.key(key)) is None, key
