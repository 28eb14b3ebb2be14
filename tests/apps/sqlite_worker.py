"""A process sharing a SQLite store file with tests/test_sqlite_store.py.

    python -m tests.apps.sqlite_worker URL incr KEY N     prints the N counter values, as JSON
    python -m tests.apps.sqlite_worker URL take KEY N     prints the N waits (a bucket of BUDGET)
    python -m tests.apps.sqlite_worker DIRECTORY fresh - N
        opens N new files DIRECTORY/0.db ..., increments a counter in each, prints the values
    python -m tests.apps.sqlite_worker URL listen CHANNEL
        prints the first message on CHANNEL (``label:sent-at``) and its delay, as JSON

Each prints ``ready``, reads a wall-clock start time from stdin and sleeps until then, so
that all the test's workers collide (``listen`` prints ``ready`` once it has subscribed).
"""

import asyncio
import json
import sys
import time
from pathlib import Path

from edgemcp.store import open_store
from edgemcp.store.sqlite import SQLiteStore

BUDGET = 600  # the token bucket's capacity; it refills one token in 1000 s


async def fresh(directory: Path, count: int, start: float) -> list[int]:
    values = []
    for number in range(count):
        # One file every 50 ms, at the same moments in every worker, so they all collide on
        # each new file (creating its schema, switching it to WAL).
        await asyncio.sleep(max(0.0, start + number * 0.05 - time.time()))
        store = SQLiteStore(directory / f"{number}.db")
        try:
            values.append(await store.incr("opened"))
        finally:
            await store.aclose()
    return values


def wait_for_start() -> float:
    print("ready", flush=True)
    start = float(sys.stdin.readline())
    time.sleep(max(0.0, start - time.time()))  # blocks the loop, which has nothing else to do
    return start


async def main(url: str, command: str, name: str, count: int) -> None:
    if command == "fresh":
        print(json.dumps(await fresh(Path(url), count, wait_for_start())), flush=True)
        return
    store = open_store(url)
    try:
        if command == "listen":
            async with store.subscribe(name) as subscription:
                print("ready", flush=True)
                message = await asyncio.wait_for(subscription.get(), 10)
            label, sent = message.decode().split(":")
            print(json.dumps({"label": label, "delay": time.time() - float(sent)}), flush=True)
            return
        await store.get(name)  # opened now, so that the workers' first calls collide
        wait_for_start()
        if command == "incr":
            results: list[float] = list(await asyncio.gather(*(store.incr(name) for _ in range(count))))
        else:
            results = list(await asyncio.gather(*(store.take(name, BUDGET, 0.001) for _ in range(count))))
        print(json.dumps(results), flush=True)
    finally:
        await store.aclose()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4], int(sys.argv[4]) if len(sys.argv) > 4 else 0))
