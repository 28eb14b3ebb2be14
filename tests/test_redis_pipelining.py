"""The Redis store's automatic pipelining, against a real redis-server: the commands of
one event-loop turn share a pipeline, each gets its own reply or its own error, and a
caller whose deadline ran out does not disturb the rest."""

import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest

from edgemcp.store import StoreError
from edgemcp.store.redis import RedisStore

from .conftest import RedisServer


class PipelineCount:
    """Counts the pipelines the real client opens (a spy around it, not a fake)."""

    def __init__(self, client: Any) -> None:
        self.count = 0
        self._pipeline = client.pipeline

    def __call__(self, *args: Any, **options: Any) -> Any:
        self.count += 1
        return self._pipeline(*args, **options)


@pytest.fixture
async def store(redis_server: RedisServer) -> AsyncIterator[RedisStore]:
    backend = RedisStore(redis_server.url)
    yield backend
    await backend.aclose()


def spy(store: RedisStore) -> PipelineCount:
    counter = PipelineCount(store.client)
    store.client.pipeline = counter
    return counter


async def test_commands_of_one_turn_go_as_one_pipeline(store: RedisStore) -> None:
    keys = [f"test:pipe:{secrets.token_hex(4)}:{i}" for i in range(50)]
    pipelines = spy(store)
    await asyncio.gather(*(store.set(key, key.encode(), ttl=30) for key in keys))
    assert pipelines.count == 1
    values = await asyncio.gather(*(store.get(key) for key in keys), store.get("test:pipe:absent"))
    assert values == [key.encode() for key in keys] + [None]
    assert pipelines.count == 2
    await asyncio.gather(*(store.delete(key) for key in keys[:25]))
    assert await asyncio.gather(*(store.get(key) for key in keys)) == [None] * 25 + [k.encode() for k in keys[25:]]
    assert pipelines.count == 4


async def test_a_command_alone_goes_without_a_pipeline(store: RedisStore) -> None:
    pipelines = spy(store)
    key = f"test:pipe:{secrets.token_hex(4)}"
    await store.set(key, b"v")
    assert await store.get(key) == b"v"
    assert pipelines.count == 0


async def test_one_failing_command_fails_alone(store: RedisStore) -> None:
    wrong = f"test:pipe:hash:{secrets.token_hex(4)}"
    await store.client.hset(wrong, "field", "value")  # GET on a hash: WRONGTYPE
    good = f"test:pipe:{secrets.token_hex(4)}"
    await store.set(good, b"ok")
    results = await asyncio.gather(store.get(good), store.get(wrong), store.get(good), return_exceptions=True)
    assert results[0] == results[2] == b"ok"
    assert isinstance(results[1], StoreError) and "ResponseError" in str(results[1])


async def test_a_caller_past_its_deadline_leaves_the_batch_intact(store: RedisStore) -> None:
    key = f"test:pipe:{secrets.token_hex(4)}"
    await store.set(key, b"v")
    impatient = asyncio.ensure_future(store.get(key))
    patient = [asyncio.ensure_future(store.get(key)) for _ in range(5)]
    impatient.cancel()  # queued in this turn, abandoned before the batch is sent
    assert await asyncio.gather(*patient) == [b"v"] * 5
    with pytest.raises(asyncio.CancelledError):
        await impatient


async def test_redis_down_fails_every_command_of_the_batch(redis_server: RedisServer) -> None:
    store = RedisStore("redis://127.0.0.1:1/0", timeout=1.0)  # nothing listens on port 1
    try:
        results = await asyncio.gather(*(store.get(f"k{i}") for i in range(10)), return_exceptions=True)
    finally:
        await store.aclose()
    assert all(isinstance(result, StoreError) for result in results), results
