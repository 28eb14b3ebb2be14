"""Faults while calls are in flight, on real processes (the soak in bench/soak.py injects
the same ones under load; these are their bounded checks for CI):

- Redis stopped and restarted (fsync'd append-only file) during a stream of calls: only
  work that needs the store answers 503 + Retry-After, only while Redis is down; stateless
  2026-07-28 calls go on; every answer is normal again within 5 s of its return; the
  session survives; no acknowledged idempotent write is lost or runs twice.
- A replica SIGKILLed mid-call: the client's session goes on through the other replica;
  the reply it sends for the dead call, the dead call's idempotency claim and its task's
  lease each go away by their deadline (seconds here), and nothing is left without one.
- A Redis cluster (3 primaries + 3 replicas) losing the primary that holds the session:
  stateless calls throughout; during the failover a call that needs the store waits in
  the Redis client's own retries or gets the store-down 503, never anything else; and
  service (with the session) is back once a replica is promoted.

A tool's executions are counted outside the store (tests/apps/faults_app.py writes a
ledger file), so a lost or doubled write shows whatever the store went through.

Two smaller checks came out of the soak: a burst of store commands beyond the Redis
client's connection pool waits for a connection instead of failing, and a store failure
inside ``ctx.elicit`` is the store-down answer, not a tool error.
"""

import asyncio
import json
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from edgemcp.store import StoreError
from edgemcp.store.redis import RedisStore

from .conftest import RedisServer, Server, free_port

APP = "tests.apps.faults_app:app"
MODERN = "2026-07-28"
ACCEPT = "application/json, text/event-stream"
TASKS = {"extensions": {"io.modelcontextprotocol/tasks": {}}}
RECOVERY = 5.0  # seconds after the store is back by which every answer is normal again


def modern(name: str, arguments: dict[str, Any], capabilities: dict[str, Any] | None = None,
           **headers: str) -> tuple[dict[str, str], dict[str, Any]]:
    return ({"accept": ACCEPT, "mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": name,
             **headers},
            {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
                "name": name, "arguments": arguments, "_meta": {
                    "io.modelcontextprotocol/protocolVersion": MODERN,
                    "io.modelcontextprotocol/clientCapabilities": capabilities or {}}}})


async def call(client: httpx.AsyncClient, url: str, name: str, arguments: dict[str, Any],
               capabilities: dict[str, Any] | None = None, **headers: str) -> httpx.Response:
    request_headers, body = modern(name, arguments, capabilities, **headers)
    return await client.post(url, headers=request_headers, json=body)


async def write(client: httpx.AsyncClient, url: str, key: str, hold: float = 0.0) -> httpx.Response:
    return await call(client, url, "write", {"entry": key, "hold": hold}, **{"idempotency-key": key})


async def initialize(client: httpx.AsyncClient, url: str) -> dict[str, str]:
    response = await client.post(url, headers={"accept": ACCEPT}, json={
        "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {"elicitation": {}},
            "clientInfo": {"name": "faults", "version": "1"}}})
    assert response.status_code == 200, response.text
    return {"accept": ACCEPT, "mcp-session-id": response.headers["mcp-session-id"],
            "mcp-protocol-version": "2025-11-25"}


async def session_call(client: httpx.AsyncClient, url: str, session: dict[str, str], text: str) -> httpx.Response:
    return await client.post(url, headers=session, json={
        "jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "plain", "arguments": {"text": text}}})


async def messages(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """The JSON-RPC messages of an SSE response (the priming event carries none)."""
    async for line in response.aiter_lines():
        if line.startswith("data:") and line[5:].strip():
            yield json.loads(line[5:])


async def until(done: Callable[[], bool], within: float, what: str) -> None:
    """Wait for ``done()``: a bounded deadline, the only kind of timing these tests assert."""
    deadline = time.monotonic() + within
    while not done():
        assert time.monotonic() < deadline, f"not within {within:g} s: {what}"
        await asyncio.sleep(0.05)


def ledger(directory: Path) -> Counter[str]:
    path = directory / "ledger.txt"
    return Counter(path.read_text().split()) if path.exists() else Counter()


def store_down(response: httpx.Response) -> bool:
    """The one store-down answer: 503, Retry-After, a JSON-RPC error (never a traceback)."""
    return (response.status_code == 503 and response.headers.get("retry-after") == "5"
            and response.json()["error"]["code"] == -32603)


@dataclass
class Seen:
    kind: str
    sent: float
    done: float
    response: httpx.Response


# ----- Redis stopped and restarted ---------------------------------------------------------


async def test_redis_stop_and_restart_during_a_stream_of_calls(tmp_path: Path) -> None:
    durable = RedisServer(tmp_path, None, "--appendonly", "yes", "--appendfsync", "always")
    server = Server(APP, {"EDGEMCP_STORE": durable.url, "FAULTS_LEDGER": str(tmp_path)})
    seen: list[Seen] = []
    acked: dict[str, str] = {}
    running = True
    try:
        async with httpx.AsyncClient(timeout=15) as client:
            session = await initialize(client, server.url)

            async def observe(kind: str, request: Awaitable[httpx.Response]) -> httpx.Response:
                sent = time.monotonic()
                response = await request
                seen.append(Seen(kind, sent, time.monotonic(), response))
                return response

            async def stream() -> None:
                n = 0
                while running:
                    n += 1
                    await observe("stateless", call(client, server.url, "plain", {"text": f"p{n}"}))
                    await observe("session", session_call(client, server.url, session, f"s{n}"))
                    key = f"w{n}"
                    response = await observe("write", write(client, server.url, key))
                    if response.status_code == 200:
                        acked[key] = response.json()["result"]["content"][0]["text"]

            load = asyncio.ensure_future(stream())
            await until(lambda: len(seen) >= 30, 30, "calls before the fault")
            stopped = time.monotonic()
            durable.stop()
            await until(lambda: sum(s.kind == "session" and s.sent > stopped for s in seen) >= 5, 30,
                        "session calls while Redis is down")
            durable.start()
            back = time.monotonic()
            await until(lambda: any(s.kind == "session" and s.sent > back and s.response.status_code == 200
                                    for s in seen), RECOVERY, "a session call served after Redis came back")
            await until(lambda: sum(s.sent > back + RECOVERY for s in seen) >= 30, 30 + RECOVERY, "calls after")
            running = False
            await load

            # Stateless 2026-07-28 calls went on throughout.
            stateless = [s for s in seen if s.kind == "stateless"]
            assert [s.response.status_code for s in stateless] == [200] * len(stateless)
            # Work that needs the store: served, or the store-down answer while Redis was down.
            for s in seen:
                assert s.response.status_code == 200 or store_down(s.response), s.response.text
                if s.response.status_code == 503:
                    assert s.done >= stopped and s.sent <= back + RECOVERY
            down = [s for s in seen if s.response.status_code == 503]
            assert {s.kind for s in down} == {"session", "write"}
            # The session from before the restart is still served (the AOF kept it).
            assert (await session_call(client, server.url, session, "after")).status_code == 200
            # Every acknowledged write ran exactly once, and a retry replays its result.
            assert acked and all(ledger(tmp_path)[key] == 1 for key in acked)
            assert max(ledger(tmp_path).values()) == 1
            for key, text in acked.items():
                replay = (await write(client, server.url, key)).json()["result"]
                assert replay["content"][0]["text"] == text
                assert replay["_meta"]["dev.edgemcp/idempotency"] == "replayed"
            assert all(n == 1 for n in ledger(tmp_path).values())
    finally:
        running = False
        output = server.stop()
        durable.stop()
    assert "Traceback" not in output


# ----- a replica killed mid-call -----------------------------------------------------------


async def test_a_replica_killed_mid_call(redis_server: RedisServer, tmp_path: Path) -> None:
    reply_timeout, lease = 3.0, 1.0
    env = {"EDGEMCP_STORE": redis_server.url, "FAULTS_LEDGER": str(tmp_path),
           "FAULTS_REPLY_TIMEOUT": str(reply_timeout), "FAULTS_IDEMPOTENCY_LEASE": str(lease),
           "FAULTS_TASK_LEASE": str(lease)}
    a, b = Server(APP, {**env, "REPLICA": "a"}), Server(APP, {**env, "REPLICA": "b"})
    store = redis.Redis.from_url(redis_server.url)
    prefix = "edgemcp:faults-test:"
    try:
        async with httpx.AsyncClient(timeout=15) as client:
            session = await initialize(client, a.url)
            ask = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "ask", "arguments": {}}}
            async with client.stream("POST", a.url, headers=session, json=ask) as response:
                stream = messages(response)
                asked = await anext(stream)  # A waits for the client's answer ...
                assert asked["method"] == "elicitation/create"
                # ... an idempotent write holds its key's claim on A ...
                parked = asyncio.ensure_future(write(client, a.url, "k1", hold=60))
                await until((tmp_path / "k1.started").exists, 10, "the write started on A")
                # ... and a task holds its lease there: then A dies.
                created = (await call(client, a.url, "hold_task", {"seconds": 60}, TASKS)).json()["result"]
                a.process.kill()
                a.process.wait()
                with pytest.raises(httpx.HTTPError):
                    async for _ in stream:
                        pass
            with pytest.raises(httpx.HTTPError):
                await parked

            # The client's session goes on through B: its answer to the dead call is taken
            # (nobody waits for it any more) and its next call is served.
            answered = await client.post(b.url, headers=session, json={
                "jsonrpc": "2.0", "id": asked["id"], "result": {"action": "accept", "content": {"name": "late"}}})
            assert answered.status_code == 202
            assert (await session_call(client, b.url, session, "on b")).json()["result"]["content"][0]["text"] == "on b"
            pending = list(store.scan_iter(prefix + "reply:*"))
            assert pending and all(0 < store.pttl(key) <= reply_timeout * 1000 for key in pending)

            # The dead call's claim lapses within its lease: a retry then runs the write, once.
            retries: list[int] = []

            async def retried() -> bool:
                response = await write(client, b.url, "k1")
                retries.append(response.status_code)
                return response.status_code == 200
            deadline = time.monotonic() + lease + 2
            while not await retried():
                assert time.monotonic() < deadline, f"the claim outlived its lease: {retries}"
                await asyncio.sleep(0.1)
            assert set(retries[:-1]) <= {409}
            assert ledger(tmp_path) == Counter({"k1": 1})

            # The task is failed once its lease lapses, on B.
            async def task_status() -> str:
                headers, body = modern("hold_task", {}, TASKS)
                headers.update({"mcp-method": "tasks/get", "mcp-name": created["taskId"]})
                body.update(method="tasks/get", params={"taskId": created["taskId"], "_meta": body["params"]["_meta"]})
                return str((await client.post(b.url, headers=headers, json=body)).json()["result"]["status"])
            deadline = time.monotonic() + lease + 2
            while (status := await task_status()) == "working":
                assert time.monotonic() < deadline, "the task's lease outlived its deadline"
                await asyncio.sleep(0.1)
            assert status == "failed"

            # The pending answer is gone by its deadline, and nothing the dead replica left
            # behind lives without one.
            await until(lambda: not any(store.exists(key) for key in pending), reply_timeout + 2,
                        "the pending reply expired")
            assert all(store.pttl(key) > 0 for key in store.scan_iter(prefix + "*"))
    finally:
        b.stop()
        a.stop()
        store.close()


# ----- a Redis cluster losing a primary ------------------------------------------------------


class Cluster:
    """Three primaries and three replicas (redis-server in cluster mode, failover after 1 s)."""

    def __init__(self, root: Path) -> None:
        self.nodes: list[RedisServer] = []
        while len(self.nodes) < 6:
            port = free_port(below=50000)
            taken = {n.port for n in self.nodes} | {n.port + 10000 for n in self.nodes}
            if port in taken or port + 10000 in taken:
                continue
            directory = root / f"node-{port}"
            directory.mkdir()
            try:
                self.nodes.append(RedisServer(directory, port, "--cluster-enabled", "yes", "--cluster-config-file",
                                              str(directory / "nodes.conf"), "--cluster-node-timeout", "1000"))
            except RuntimeError:
                continue
        subprocess.run(["redis-cli", "--cluster", "create", *(f"127.0.0.1:{n.port}" for n in self.nodes),
                        "--cluster-replicas", "1", "--cluster-yes"], check=True, capture_output=True, timeout=60)
        deadline = time.monotonic() + 30
        # Formed: every node sees every slot served, and three replicas synced with their
        # primaries (a primary lost before its replica synced could not fail over).
        while not (all("cluster_state:ok" in self.cli(n, "cluster", "info") for n in self.nodes)
                   and sum("master_link_status:up" in self.cli(n, "info", "replication") for n in self.nodes) == 3):
            assert time.monotonic() < deadline, "the cluster did not form"
            time.sleep(0.1)
        self.url = f"redis+cluster://127.0.0.1:{self.nodes[0].port}"

    @staticmethod
    def cli(node: RedisServer, *args: str) -> str:
        return subprocess.run(["redis-cli", "-p", str(node.port), *args], capture_output=True, text=True,
                              timeout=10).stdout

    def primaries(self) -> list[RedisServer]:
        return [n for n in self.nodes if n.process is not None and "role:master" in self.cli(n, "info", "replication")]

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    running = Cluster(tmp_path)
    yield running
    running.stop()


async def test_a_cluster_losing_a_primary_resumes_after_the_failover(cluster: Cluster, tmp_path: Path) -> None:
    server = Server(APP, {"EDGEMCP_STORE": cluster.url, "FAULTS_LEDGER": str(tmp_path)})
    try:
        async with httpx.AsyncClient(timeout=15) as client:
            session = await initialize(client, server.url)
            assert (await session_call(client, server.url, session, "before")).status_code == 200
            assert (await write(client, server.url, "c1")).status_code == 200
            primaries = cluster.primaries()
            for primary in primaries:  # acknowledged by a replica before the primary goes
                assert cluster.cli(primary, "wait", "1", "5000").strip() == "1"
            # The primary holding this session's own record (the session-rate bucket,
            # "rate:session:...", may live on another).
            raw_id = session["mcp-session-id"].split(".")[0]
            victim = next(p for p in primaries if cluster.cli(p, "--scan", "--pattern", f"*:session:{raw_id}").strip())
            assert victim.process is not None
            victim.process.kill()  # SIGKILL: its replica is promoted after the node timeout
            victim.process.wait()
            victim.process = None

            seen: list[httpx.Response] = []
            stateless: list[httpx.Response] = []
            deadline = time.monotonic() + 20  # node timeout (1 s) + election, with room on a busy machine
            while True:
                stateless.append(await call(client, server.url, "plain", {"text": "x"}))
                seen.append(await session_call(client, server.url, session, "during"))
                if seen[-1].status_code == 200:
                    break
                assert time.monotonic() < deadline, "service did not resume after the failover"
                await asyncio.sleep(0.1)
            # Before that: the store-down answer (redis-py's cluster client retries on its own
            # first, so a call may instead just take the failover's time and succeed).
            assert all(store_down(r) for r in seen[:-1]), [r.text for r in seen if r.status_code != 200]
            assert [r.status_code for r in stateless] == [200] * len(stateless)

            # Service resumed: the session (replicated before the kill) and the write's record too.
            assert (await session_call(client, server.url, session, "after")).status_code == 200
            assert (await initialize(client, server.url))["mcp-session-id"]
            replay = (await write(client, server.url, "c1")).json()["result"]
            assert replay["_meta"]["dev.edgemcp/idempotency"] == "replayed"
            assert ledger(tmp_path) == Counter({"c1": 1})
    finally:
        output = server.stop()
    assert "Traceback" not in output


# ----- what the soak turned up -----------------------------------------------------------


async def test_a_burst_beyond_the_connection_pool_waits_for_a_connection(fragile_redis: RedisServer) -> None:
    """redis-py's pool holds 100 connections and, by default, fails the 101st command at
    once ("Too many connections"): under a burst (a replica taking over its dead peer's
    load) that was a 503 with Redis healthy. Commands beyond the pool now wait for one.
    And after Redis restarts, the pool's broken connections cost no failed command."""
    store = RedisStore(fragile_redis.url)
    try:
        values = await asyncio.gather(*(store.incr("faults:burst") for _ in range(400)))
        assert sorted(values) == list(range(1, 401))
        fragile_redis.stop()
        fragile_redis.start()  # no persistence: the counter starts again
        values = await asyncio.gather(*(store.incr("faults:burst") for _ in range(400)))
        assert sorted(values) == list(range(1, 401))
    finally:
        await store.aclose()


async def test_a_store_failure_while_asking_the_client_is_the_store_down_answer(
        redis_server: RedisServer) -> None:
    """The store fails under ``ctx.elicit`` (here: a Redis user that may not use pub/sub,
    so the wait for the client's reply cannot start): the client gets the store-down
    answer (503, Retry-After), not a tool that "failed with an internal error"."""
    admin = redis.Redis.from_url(redis_server.url)
    admin.acl_setuser("nopubsub", enabled=True, passwords=["+pw"], keys=["*"], channels=["*"],
                      commands=["+@all", "-@pubsub"])
    try:
        server = Server(APP, {"EDGEMCP_STORE": f"redis://nopubsub:pw@127.0.0.1:{redis_server.port}/0"})
        try:
            async with httpx.AsyncClient(timeout=15) as client:
                session = await initialize(client, server.url)
                ask = {"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "ask", "arguments": {}}}
                async with client.stream("POST", server.url, headers=session, json=ask) as response:
                    if response.headers["content-type"].startswith("text/event-stream"):
                        final = [m async for m in messages(response)][-1]  # the stream had started
                    else:
                        await response.aread()
                        assert store_down(response)
                        final = response.json()
                assert final["error"] == {"code": -32603, "message": "Service unavailable: state store unreachable"}
        finally:
            output = server.stop()
        assert "tool ask raised" not in output
    finally:
        admin.acl_deluser("nopubsub")
        admin.close()


async def test_a_command_failing_inside_the_redis_client_is_the_store_failing(redis_server: RedisServer) -> None:
    """During a cluster failover under load, redis-py 8.1's cluster client raised RuntimeError
    and AttributeError from races on a closing connection (the soak saw 500s). The real
    store here, its client's command replaced by one that fails that way: a StoreError (503)."""
    store = RedisStore(redis_server.url)

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise AttributeError("'NoneType' object has no attribute 'writelines'")
    store.client.get = broken
    try:
        with pytest.raises(StoreError, match="AttributeError"):
            await store.get("faults:any")
    finally:
        await store.aclose()
