"""The SQLite store beyond the shared contract (tests/test_store.py): its URLs, a file that
outlives the store, errors, the event loop kept free, sweeping, and several OS processes
sharing one file (tests/apps/sqlite_worker.py)."""

import asyncio
import json
import os
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from edgemcp.store import StoreError, open_store
from edgemcp.store.sqlite import SQLiteStore

from .apps.sqlite_worker import BUDGET
from .conftest import ROOT

# The workers import this checkout's edgemcp, whatever else is installed.
WORKER_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(
    [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])])}


def rows(path: Path, table: str) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


async def test_url_paths_relative_and_absolute_with_parents_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    relative = open_store("sqlite:///state/dev.db")
    absolute = open_store(f"sqlite:///{tmp_path / 'deep' / 'er' / 'abs.db'}")  # sqlite:////tmp/...
    try:
        await relative.set("k", b"r")
        await absolute.set("k", b"a")
    finally:
        await relative.aclose()
        await absolute.aclose()
    assert rows(tmp_path / "state" / "dev.db", "kv") == 1
    assert rows(tmp_path / "deep" / "er" / "abs.db", "kv") == 1


@pytest.mark.parametrize("url", ["sqlite://:memory:", "sqlite:///:memory:"])
def test_in_memory_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match=r"use memory://"):
        open_store(url)


@pytest.mark.parametrize("url", ["sqlite://", "sqlite://host/x.db", "sqlite:///x.db?timeout=3"])
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match=r"sqlite:///relative/path\.db"):
        open_store(url)


async def test_state_survives_the_store_like_a_dev_server_reload(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dev.db'}"
    before = open_store(url)
    await before.set("session", b"record", ttl=60)
    await before.set("brief", b"gone soon", ttl=0.1)
    await before.incr("counter", 41)
    assert [await before.take("bucket", 2, 0.001) for _ in range(2)] == [0, 0]
    await before.aclose()

    await asyncio.sleep(0.15)
    after = open_store(url)
    try:
        assert await after.get("session") == b"record"
        assert await after.get("brief") is None
        assert await after.incr("counter") == 42
        assert await after.take("bucket", 2, 0.001) > 0  # still empty
    finally:
        await after.aclose()


async def test_sqlite_errors_become_short_store_errors(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    for path, reason in [(tmp_path, "SQLITE_CANTOPEN"),  # a directory
                         (tmp_path / "a-file" / "x.db", "FileExistsError")]:  # parent: a file
        unopenable = SQLiteStore(path)
        with pytest.raises(StoreError, match=reason):
            await unopenable.get("k")
        await unopenable.aclose()

    path = tmp_path / "locked.db"
    store = SQLiteStore(path, busy_timeout=0.2)
    await store.set("k", b"v")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holding the write lock
    try:
        for attempt in (store.set("k", b"marker-value"), store.incr("n"),
                        store.compare_and_set("k", b"v", b"marker-value")):
            with pytest.raises(StoreError, match="SQLITE_BUSY") as caught:
                await attempt
            assert "marker-value" not in str(caught.value)
    finally:
        other.execute("ROLLBACK")
        other.close()
    await store.set("k", b"w")  # the lock released, the store works again
    assert await store.get("k") == b"w"
    await store.aclose()
    with pytest.raises(StoreError, match="closed"):
        await store.get("k")


async def test_a_call_waiting_for_the_lock_leaves_the_event_loop_free(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    store = SQLiteStore(path, busy_timeout=5)
    await store.set("k", b"v")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        writing = asyncio.ensure_future(store.incr("n"))
        ticks = 0
        deadline = time.monotonic() + 0.3
        while time.monotonic() < deadline:
            await asyncio.sleep(0.01)
            ticks += 1
        assert not writing.done()
        assert ticks >= 10  # about 30; a blocked loop would not tick at all
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert await asyncio.wait_for(writing, 5) == 1
    await store.aclose()


async def test_expired_rows_and_old_messages_are_swept_now_and_then(tmp_path: Path) -> None:
    rarely, often = tmp_path / "rarely.db", tmp_path / "often.db"
    for path, sweep_interval in [(rarely, 60.0), (often, 0.0)]:
        store = SQLiteStore(path, sweep_interval=sweep_interval, message_retention=0.1)
        await store.set("brief", b"v", ttl=0.05)
        await store.publish("channel", b"m")
        await asyncio.sleep(0.15)
        assert await store.get("brief") is None
        await store.set("other", b"v")  # a write: sweeps when a sweep is due
        await store.aclose()
    assert (rows(rarely, "kv"), rows(rarely, "messages")) == (2, 1)  # expired, not yet swept
    assert (rows(often, "kv"), rows(often, "messages")) == (1, 0)


async def test_a_new_subscription_skips_messages_its_poller_has_not_read_yet(tmp_path: Path) -> None:
    # A slow poller already running for another channel: "before" is published, not yet read,
    # when the second subscription starts. It must not receive it.
    store = SQLiteStore(tmp_path / "s.db", poll_interval=0.3)
    try:
        async with store.subscribe("other"):
            await store.publish("channel", b"before")
            async with store.subscribe("channel") as subscription:
                await store.publish("channel", b"after")
                assert await asyncio.wait_for(subscription.get(), 5) == b"after"
    finally:
        await store.aclose()


async def test_closing_the_store_wakes_its_subscribers(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    async with store.subscribe("channel") as subscription:
        waiter = asyncio.ensure_future(subscription.get())
        await asyncio.sleep(0.1)
        await store.aclose()
        with pytest.raises(StoreError, match="subscription lost"):
            await asyncio.wait_for(waiter, 2)


async def spawn(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.apps.sqlite_worker", *args, cwd=ROOT, env=WORKER_ENV,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)


async def ready(process: asyncio.subprocess.Process) -> None:
    assert process.stdout is not None
    assert await asyncio.wait_for(process.stdout.readline(), 30) == b"ready\n"


async def finish(processes: list[asyncio.subprocess.Process]) -> list[Any]:
    """What each worker printed, once all have exited (killed if they do not within 60 s)."""
    try:
        outputs = await asyncio.wait_for(
            asyncio.gather(*(process.communicate() for process in processes)), 60)
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert [process.returncode for process in processes] == [0] * len(processes)
    return [json.loads(out) for out, _ in outputs]


async def workers(url: str, command: str, name: str, count: int, processes: int) -> list[Any]:
    """Run ``processes`` workers that begin at the same moment; what each printed."""
    started = [await spawn(url, command, name, str(count)) for _ in range(processes)]
    try:
        for process in started:
            await ready(process)
        start = f"{time.time() + 0.2}\n".encode()
        for process in started:
            assert process.stdin is not None
            process.stdin.write(start)
    finally:
        results = await finish(started)
    return results


async def test_increments_from_several_processes_are_atomic(tmp_path: Path) -> None:
    results = await workers(f"sqlite:///{tmp_path / 'shared.db'}", "incr", "n", 200, processes=4)
    assert sorted(value for values in results for value in values) == list(range(1, 801))


async def test_several_processes_can_open_a_new_file_at_once(tmp_path: Path) -> None:
    # The workers open the same 20 new files at the same moments, so they race to create each
    # one's schema and switch it to WAL.
    results = await workers(str(tmp_path), "fresh", "-", 20, processes=4)
    assert [sorted(values) for values in zip(*results, strict=True)] == [[1, 2, 3, 4]] * 20


async def test_a_token_bucket_shared_by_several_processes_lets_exactly_its_budget_through(
    tmp_path: Path,
) -> None:
    # A large budget (600 of 800 takes): only takes that still find tokens can race, so the
    # more of them, the surer a missing lock shows.
    results = await workers(f"sqlite:///{tmp_path / 'shared.db'}", "take", "b", 200, processes=4)
    assert sum(1 for waits in results for wait in waits if wait == 0) == BUDGET


async def test_a_publication_reaches_a_subscriber_in_another_process_within_a_second(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    store = open_store(url)
    try:
        await store.publish("channel", f"before:{time.time()}".encode())
        listener = await spawn(url, "listen", "channel")
        try:
            await ready(listener)  # subscribed
            await store.publish("channel", f"after:{time.time()}".encode())
        finally:
            [received] = await finish([listener])
    finally:
        await store.aclose()
    assert received["label"] == "after"  # it subscribed after "before" was published
    assert received["delay"] < 1.0
