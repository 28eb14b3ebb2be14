"""The Worker in real Pyodide: workers/entry.py under npm pyodide 314.0.6 and Node 24, with
Miniflare's KV simulator, served over HTTP by tests/workers/serve.mjs (which plays
workerd's part; see workers.md in the shared notes for what it does not prove).

Judged by the official conformance suite and by direct checks: a session that moves
between isolates sharing one KV namespace, cached results in KV, the Durable Object store
(through a FAKE Durable Object namespace in the harness: Python Durable Objects cannot be
hosted offline), tasks whose records live in it and whose work goes on under
ctx.waitUntil, and a clean import (no entropy while the Worker module is imported).
"""

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import ROOT, Server
from .test_conformance import NODE as CONFORMANCE_NODE
from .test_conformance import run_suite
from .test_replicas import elicit_here_answer_there, initialize
from .workers_harness import HARNESS, READY, Worker

pytestmark = pytest.mark.skipif(
    not READY or not CONFORMANCE_NODE.exists(),
    reason="Workers harness not installed: run scripts/setup",
)
ACCEPT = "application/json, text/event-stream"


@pytest.fixture(scope="module")
def kv_worker() -> Iterator[Worker]:
    """Sessions and everything else in Workers KV: no Durable Object binding. The example
    app declares task tools, which KV alone cannot hold, so this Worker refuses to serve."""
    worker = Worker(vars={"EDGEMCP_EXACT_STORE": ""})
    yield worker
    worker.stop()


@pytest.fixture(scope="module")
def split_worker() -> Iterator[Worker]:
    """As wrangler.toml says: KV for sessions and cache, the (fake) Durable Object for the
    rest; two isolates sharing one KV namespace and one Durable Object namespace."""
    worker = Worker(isolates=2, durable_object=True)
    yield worker
    worker.stop()


def test_runs_real_pyodide_and_pydantic_2(kv_worker: Worker) -> None:
    info = kv_worker.info
    assert info["pyodide"] == "314.0.6" and info["python"].startswith("3.14")
    # Older pydantic-core has no pyemscripten_2026_0 wheel: pip would fall back to 1.10.
    assert info["pydantic"].startswith("2.")
    assert info["wasmMemoryMiB"][0] < 128  # a Worker isolate gets 128 MB


def test_importing_the_worker_module_draws_no_entropy_and_reads_no_clock(kv_worker: Worker) -> None:
    # Counted by the harness around `import entry`, after importing what the runtime itself
    # handles at snapshot time (random, pydantic_core, the workers SDK): calls to
    # crypto.getRandomValues (behind os.urandom and getentropy in Pyodide) and reads of
    # Python's clocks (time.time, monotonic, perf_counter and their _ns forms).
    assert kv_worker.info["importEntropy"] == {"randomValues": 0, "clockReads": []}


def test_a_worker_on_kv_alone_refuses_an_app_with_task_tools(kv_worker: Worker) -> None:
    """KV is eventually consistent: a task record written there might not be found by the
    next tasks/get, which the extension forbids. So the app refuses that store at start-up
    and says why, on every request."""
    response = httpx.post(kv_worker.url, timeout=30, headers={
        "accept": ACCEPT, "mcp-protocol-version": "2026-07-28", "mcp-method": "server/discover"}, json={
        "jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}}}})
    assert response.status_code == 503
    message = response.json()["error"]["message"]
    assert "task support needs a strongly consistent store" in message and "WorkersKVStore" in message


def test_conformance_2026_07_28_with_the_durable_object(split_worker: Worker, tmp_path: Path) -> None:
    # Includes the ten tasks-* scenarios: task records in the (fake) Durable Object.
    run_suite("2026-07-28", split_worker.url, tmp_path)


def test_conformance_stable_with_the_durable_object(split_worker: Worker, tmp_path: Path) -> None:
    run_suite("stable-active", split_worker.url, tmp_path)


@pytest.fixture(scope="module")
def probe_worker() -> Iterator[Worker]:
    """tests/workers/probe_worker.py on two isolates, KV + the (fake) Durable Object."""
    worker = Worker(isolates=2, durable_object=True, entry="probe_worker",
                    extra_modules=(HARNESS / "probe_worker.py",))
    yield worker
    worker.stop()


def events(body: str) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: ")]


async def test_a_session_moves_between_isolates_through_kv(split_worker: Worker) -> None:
    first, second = split_worker.urls
    async with httpx.AsyncClient(timeout=30) as client:
        session = await initialize(client, first, {"elicitation": {}})
        initialized = await client.post(first, headers=session, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
        assert initialized.status_code == 202
        stored = [k for k in split_worker.kv_keys() if ":session:" in k]
        assert stored, "the session record should be in Workers KV"

        listed = await client.post(second, headers=session, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert listed.status_code == 200 and listed.json()["result"]["tools"]
        called = await client.post(second, headers=session, json={
            "jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "test_simple_text", "arguments": {}}})
        text = events(called.text)[-1] if called.headers["content-type"].startswith("text/event-stream") else called.json()
        assert text["result"]["content"][0]["text"] == "This is a simple text response for testing."

        # An elicitation waits on the first isolate; the client's answer reaches the second.
        final = await elicit_here_answer_there(client, first, second, session, request_id=3)
        assert "ada@example.com" in final["result"]["content"][0]["text"]
        # The reply travelled through the Durable Object, not KV.
        assert not [k for k in split_worker.kv_keys() if ":reply:" in k]

        ended = await client.delete(second, headers=session)
        assert ended.status_code == 200
        gone = await client.post(first, headers=session, json={"jsonrpc": "2.0", "id": 4, "method": "ping"})
        assert gone.status_code == 404


def modern(name: str, arguments: dict[str, Any], *, token: str | None = None, request_id: int = 1,
           progress: bool = False) -> tuple[dict[str, str], dict[str, Any]]:
    headers = {"accept": ACCEPT, "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call",
               "mcp-name": name}
    if token:
        headers["authorization"] = f"Bearer {token}"
    meta: dict[str, Any] = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                            "io.modelcontextprotocol/clientCapabilities": {}}
    if progress:
        meta["progressToken"] = f"p{request_id}"
    return headers, {"jsonrpc": "2.0", "id": request_id, "method": "tools/call",
                     "params": {"name": name, "arguments": arguments, "_meta": meta}}


async def call(client: httpx.AsyncClient, url: str, name: str, token: str | None = None,
               arguments: dict[str, Any] | None = None) -> httpx.Response:
    headers, body = modern(name, arguments or {}, token=token)
    return await client.post(url, headers=headers, json=body)


async def test_cached_results_live_in_kv_with_its_ttl_floor_and_scope(probe_worker: Worker) -> None:
    first, second = probe_worker.urls
    async with httpx.AsyncClient(timeout=30) as client:
        one = (await call(client, first, "public_count")).json()["result"]
        two = (await call(client, first, "public_count")).json()["result"]
        three = (await call(client, second, "public_count")).json()["result"]  # another isolate
    assert cache_status(one) == "miss"
    assert [r["content"][0]["text"] for r in (one, two, three)] == ["public call 1"] * 3
    assert cache_status(two) == "hit" and cache_status(three) == "hit"

    keys = probe_worker.kv_keys()
    public = [k for k in keys if ":cache:public_count:" in k]
    assert len(public) == 1 and ":public:" in public[0]
    expiration = keys[public[0]]
    assert expiration is not None
    # The tool asked for 5 s; KV refuses less than 60 s, so the entry lives 60 s.
    assert 50 <= expiration - time.time() <= 70

    async with httpx.AsyncClient(timeout=30) as client:
        a1 = (await call(client, first, "private_count", "token-a")).json()["result"]
        a2 = (await call(client, second, "private_count", "token-a")).json()["result"]
        b1 = (await call(client, second, "private_count", "token-b")).json()["result"]
        anonymous = (await call(client, first, "private_count")).json()["result"]
    assert cache_status(a1) == "miss" and cache_status(a2) == "hit"
    assert a2["content"][0]["text"] == a1["content"][0]["text"]
    assert cache_status(b1) == "miss" and "agent-b" in b1["content"][0]["text"]  # never agent-a's
    assert cache_status(anonymous) == "uncacheable"
    private = [k for k in probe_worker.kv_keys() if ":cache:private_count:" in k]
    assert len(private) == 2 and all(":p:" in k for k in private)


def cache_status(result: dict[str, Any]) -> str:
    marker = result["_meta"]["dev.edgemcp/cache"]
    return str(marker["status"] if isinstance(marker, dict) else marker)


async def test_rate_limits_are_exact_across_isolates_through_the_durable_object(probe_worker: Worker) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        answers = await asyncio.gather(*(
            call(client, probe_worker.urls[i % 2], "limited") for i in range(10)))
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200] * 3 + [429] * 7
    assert not [k for k in probe_worker.kv_keys() if ":rate:" in k]  # buckets are not in KV


async def test_a_client_disconnect_cancels_the_call(probe_worker: Worker) -> None:
    """2026-07-28: closing the response stream is cancellation. The stock ASGI bridge
    cannot deliver this (it says http.disconnect only after the response ended)."""
    url = probe_worker.urls[0]
    headers, body = modern("slow", {"label": "gone"}, progress=True)
    async with httpx.AsyncClient(timeout=30) as client:
        async with client.stream("POST", url, headers=headers, json=body) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    break  # one progress event, then hang up
        for _ in range(50):
            state = (await call(client, url, "ended", arguments={"label": "gone"})).json()
            if state["result"]["content"][0]["text"] != "running":
                break
            await asyncio.sleep(0.1)
    assert state["result"]["content"][0]["text"] == "cancelled"


# ----- a split app's edge on the Worker, its core on the host ------------------------------


@pytest.fixture(scope="module")
def split_edge() -> Iterator[tuple[Worker, Server]]:
    """examples/split.py twice: the core under uvicorn on the host, the edge in Pyodide,
    forwarding core tools through the platform's fetch (edgemcp.cloudflare.fetch)."""
    core = Server("examples.split:app", {"EDGEMCP_ROLE": "core"})
    worker = Worker(vars={"EDGEMCP_ROLE": "edge", "EDGEMCP_CORE_URL": core.url}, durable_object=True,
                    entry="split_worker", extra_modules=(HARNESS / "split_worker.py", ROOT / "examples" / "split.py"))
    yield worker, core
    worker.stop()
    core.stop()


def core_calls(core: Server) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in core.read_output().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == "tools/call"]


async def test_the_edge_role_forwards_core_tools_through_fetch(split_edge: tuple[Worker, Server]) -> None:
    worker, core = split_edge
    account = "NL91ABNA0417164300"
    async with httpx.AsyncClient(timeout=60) as client:
        headers, body = modern("forecast", {"city": "Lisbon"})
        here = await client.post(worker.url, headers=headers, json=body)
        assert "Lisbon" in here.json()["result"]["content"][0]["text"]
        assert core_calls(core) == []  # an edge tool: the core never heard of it

        headers, body = modern("balance", {"account": account})
        there = await client.post(worker.url, headers=headers, json=body)
        assert there.status_code == 200, there.text
        assert account in there.json()["result"]["content"][0]["text"]
        ran = core_calls(core)
        assert [r["tool"] for r in ran] == ["balance"]
        assert ran[0]["correlation_id"] == there.headers["x-correlation-id"]

        # The core asks for a confirmation: the edge answers with its own input_required,
        # and the retry carries the answer through to the core.
        headers, body = modern("transfer", {"account": account, "amount": 5})
        body["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"] = {"elicitation": {}}
        asked = (await client.post(worker.url, headers=headers, json=body)).json()
        result = asked["result"]
        assert result["resultType"] == "input_required"
        (key, request), = result["inputRequests"].items()
        assert request["params"]["requestedSchema"]["properties"]["confirm"]["type"] == "boolean"
        body["id"] = 2
        body["params"] |= {"inputResponses": {key: {"action": "accept", "content": {"confirm": True}}},
                           "requestState": result["requestState"]}
        done = (await client.post(worker.url, headers=headers, json=body)).json()
        assert done["result"]["content"][0]["text"] == f"Transferred 5.00 EUR from account {account}."
        assert [r["tool"] for r in core_calls(core)][-2:] == ["transfer", "transfer"]  # asked, then ran


# ----- tasks: records in the Durable Object, work under ctx.waitUntil ------------------------


def task_request(method: str, params: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    headers = {"accept": ACCEPT, "mcp-protocol-version": "2026-07-28", "mcp-method": method,
               "mcp-name": str(params.get("name", params.get("taskId")))}
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}}}
    return headers, {"jsonrpc": "2.0", "id": 1, "method": method, "params": {**params, "_meta": meta}}


async def task_rpc(client: httpx.AsyncClient, url: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
    headers, body = task_request(method, params)
    response = await client.post(url, headers=headers, json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["result"]
    return result


async def test_a_task_runs_under_wait_until_and_answers_on_every_isolate(split_worker: Worker) -> None:
    first, second = split_worker.urls
    async with httpx.AsyncClient(timeout=30) as client:
        created = await task_rpc(client, first, "tools/call",
                                 {"name": "slow_compute", "arguments": {"seconds": 3, "label": "edge"}})
        assert created["resultType"] == "task"
        # Seen at once from the other isolate: the record is in the Durable Object, not KV.
        assert (await task_rpc(client, second, "tasks/get", {"taskId": created["taskId"]}))["status"] == "working"
        assert not [k for k in split_worker.kv_keys() if ":task" in k]
        await asyncio.sleep(1)  # the requests' own exchanges have settled by now
        counts = split_worker.wait_until()
        assert counts["registered"] - counts["settled"] >= 1  # the task's work, handed to ctx.waitUntil
        for _ in range(100):
            done = await task_rpc(client, second, "tasks/get", {"taskId": created["taskId"]})
            if done["status"] != "working":
                break
            await asyncio.sleep(0.1)
        assert done["status"] == "completed"
        assert done["result"]["content"][0]["text"] == "Computed edge in 3 s"
        counts = split_worker.wait_until()
        assert counts["registered"] == counts["settled"]

        # Cancelled through the other isolate: it reaches the work (by polling the Durable Object).
        running = await task_rpc(client, first, "tools/call",
                                 {"name": "slow_compute", "arguments": {"seconds": 60, "label": "stop"}})
        await task_rpc(client, second, "tasks/cancel", {"taskId": running["taskId"]})
        assert (await task_rpc(client, first, "tasks/get", {"taskId": running["taskId"]}))["status"] == "cancelled"
        for _ in range(100):  # the work stopped: nothing is held open under waitUntil any more
            counts = split_worker.wait_until()
            if counts["registered"] == counts["settled"]:
                break
            await asyncio.sleep(0.1)
        assert counts["registered"] == counts["settled"]
