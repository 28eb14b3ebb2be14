"""The tasks extension in one process (httpx's ASGI transport, the memory store): who may
see a task, what its record holds, the limits, input and progress during a task, and a
clear JSON-RPC error with the right status for every bad request. The conformance suite's
tasks-* scenarios, the cross-replica checks and the Workers run are elsewhere
(test_conformance, test_tasks_replicas, test_workers_pyodide)."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgpack
import pytest

from edgemcp import Context, EdgeMCP, ToolError, elicitation
from edgemcp.guards import BearerTokens
from edgemcp.runtime import ConfigurationError
from edgemcp.state.seal import Sealer
from edgemcp.state.tasks import TaskRecord
from edgemcp.store import MemoryStore, Store
from edgemcp.store.kv import WorkersKVStore
from edgemcp.store.split import SplitStore

from .fakes.cloudflare import FakeKVNamespace

MODERN = "2026-07-28"
ACCEPT = "application/json, text/event-stream"
TASKS = {"extensions": {"io.modelcontextprotocol/tasks": {}}}
SECRET_ARGUMENT = "card-4111-1111-1111-1111"


def make_app(store: Store, **options: Any) -> EdgeMCP:
    options.setdefault("auth", BearerTokens({"alice": "alice-token", "bob": "bob-token"}))
    app = EdgeMCP("tasks-unit", secret="unit-secret", store=store, auth_required=False, **options)
    gate = asyncio.Event()

    @app.tool(task="optional", task_ttl=600, task_poll_interval=0.5)
    async def charge(card: str, ctx: Context) -> str:
        await ctx.progress(1, 2, "charging")
        await gate.wait()
        return f"charged {card[-4:]}"

    @app.tool(task="optional")
    async def quick() -> str:
        return "done"

    @app.tool(task="required")
    def broken() -> str:
        raise ToolError("nope")

    @app.tool(task="optional")
    async def ask_twice(ctx: Context) -> str:
        await ctx.progress(1, 3, "asking")
        first = await ctx.elicit("First?", {"type": "object", "properties": {"v": {"type": "string"}}}, key="a")
        second = await ctx.elicit("Second?", {"type": "object", "properties": {"v": {"type": "string"}}}, key="b")
        return f"{first['content']['v']}+{second['content']['v']}"

    @app.tool(task="optional")
    async def ask_both(ctx: Context) -> str:
        form = {"type": "object", "properties": {"v": {"type": "string"}}}
        got = await ctx.ask({"x": elicitation("X?", form), "y": elicitation("Y?", form)})
        return f"{got['x']['content']['v']}{got['y']['content']['v']}"

    @app.tool(task="optional", task_start="explicit")
    async def maybe(big: bool, ctx: Context) -> str:
        if big and await ctx.start_task():
            return "big, as a task"
        return "small, at once"

    @app.tool(task="optional", task_ttl=0.3)
    def fleeting() -> str:
        return "soon gone"

    app.gate = gate  # type: ignore[attr-defined]
    return app


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
async def app(store: MemoryStore) -> AsyncIterator[EdgeMCP]:
    app = make_app(store)
    yield app
    app.gate.set()  # type: ignore[attr-defined]  # let waiting tasks end before the loop does
    await asyncio.sleep(0.05)


@pytest.fixture
def client(app: EdgeMCP) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app.asgi()), base_url="http://localhost")


async def rpc(client: httpx.AsyncClient, method: str, params: dict[str, Any], *, token: str | None = "alice-token",
              capabilities: dict[str, Any] | None = None, name: str | None = None) -> httpx.Response:
    headers = {"accept": ACCEPT, "mcp-protocol-version": MODERN, "mcp-method": method}
    target = name if name is not None else params.get("name", params.get("taskId"))
    if isinstance(target, str):
        headers["mcp-name"] = target
    if token:
        headers["authorization"] = f"Bearer {token}"
    meta = {"io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}, **TASKS}
            if capabilities is None else capabilities}
    return await client.post("/mcp", headers=headers, json={
        "jsonrpc": "2.0", "id": 1, "method": method, "params": {**params, "_meta": meta}})


async def start(client: httpx.AsyncClient, tool: str, arguments: dict[str, Any] | None = None,
                token: str = "alice-token") -> dict[str, Any]:
    response = await rpc(client, "tools/call", {"name": tool, "arguments": arguments or {}}, token=token)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["result"]
    assert result["resultType"] == "task"
    return result


async def get(client: httpx.AsyncClient, task_id: str, token: str = "alice-token") -> dict[str, Any]:
    response = await rpc(client, "tasks/get", {"taskId": task_id}, token=token)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["result"]
    return result


async def until(client: httpx.AsyncClient, task_id: str, *statuses: str) -> dict[str, Any]:
    for _ in range(200):
        task = await get(client, task_id)
        if task["status"] in statuses:
            return task
        await asyncio.sleep(0.02)
    raise AssertionError(f"task {task_id} stayed {task['status']}")


def error_of(response: httpx.Response) -> tuple[int, int, str]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["message"]


async def test_a_task_from_creation_to_result(app: EdgeMCP, client: httpx.AsyncClient) -> None:
    created = await start(client, "charge", {"card": SECRET_ARGUMENT})
    assert set(created) >= {"taskId", "status", "createdAt", "lastUpdatedAt", "ttlMs", "pollIntervalMs"}
    assert (created["status"], created["ttlMs"], created["pollIntervalMs"]) == ("working", 600000, 500)
    assert not {"result", "error", "inputRequests", "requestState", "task"} & set(created)
    working = await get(client, created["taskId"])  # at once: the record was there before the handle
    assert working["resultType"] == "complete" and "result" not in working
    for _ in range(100):  # progress shows in the status message (once the tool got there)
        if "statusMessage" in (working := await get(client, created["taskId"])):
            break
        await asyncio.sleep(0.02)
    assert (working["status"], working["statusMessage"]) == ("working", "charging")
    app.gate.set()  # type: ignore[attr-defined]
    done = await until(client, created["taskId"], "completed")
    assert done["result"]["content"][0]["text"] == "charged 1111"

    # A tool error completes the task with isError; it does not fail it.
    failed_tool = await until(client, (await start(client, "broken"))["taskId"], "completed")
    assert failed_tool["result"]["isError"] is True


async def test_the_extension_is_advertised_and_the_tool_declares_its_support(client: httpx.AsyncClient) -> None:
    discovered = (await rpc(client, "server/discover", {})).json()["result"]
    assert discovered["capabilities"]["extensions"] == {"io.modelcontextprotocol/tasks": {}}
    assert "tasks" not in discovered["capabilities"]
    tools = {t["name"]: t for t in (await rpc(client, "tools/list", {})).json()["result"]["tools"]}
    assert tools["charge"]["_meta"]["dev.edgemcp/task"] == {
        "support": "optional", "start": "call", "ttlMs": 600000, "pollIntervalMs": 500}


async def test_bad_task_requests_get_clear_errors(client: httpx.AsyncClient) -> None:
    unknown = await rpc(client, "tasks/get", {"taskId": "no-such-task-0123456789"})
    assert error_of(unknown) == (404, -32602, "Failed to retrieve task: Task not found")
    for method in ("tasks/update", "tasks/cancel"):
        response = await rpc(client, method, {"taskId": "no-such-task-0123456789", "inputResponses": {}})
        assert error_of(response) == (404, -32602, "Failed to retrieve task: Task not found")
    odd = await rpc(client, "tasks/get", {"taskId": "../../etc"})  # never reaches the store as a key
    assert error_of(odd)[:2] == (404, -32602)
    missing = await rpc(client, "tasks/get", {}, name="")  # its Mcp-Name cannot match: refused first
    assert error_of(missing)[:2] == (400, -32020)

    undeclared = await rpc(client, "tasks/get", {"taskId": "no-such-task-0123456789"}, capabilities={})
    assert error_of(undeclared)[:2] == (400, -32021)
    assert undeclared.json()["error"]["data"] == {"requiredCapabilities": TASKS}
    required = await rpc(client, "tools/call", {"name": "broken", "arguments": {}}, capabilities={})
    assert error_of(required)[:2] == (400, -32021)
    assert required.json()["error"]["data"] == {"requiredCapabilities": TASKS}

    mismatch = await rpc(client, "tasks/get", {"taskId": "no-such-task-0123456789"}, name="another-task-id")
    assert error_of(mismatch)[:2] == (400, -32020)
    for removed in ("tasks/list", "tasks/result"):
        response = await rpc(client, removed, {"taskId": "no-such-task-0123456789"})
        assert error_of(response)[:2] == (404, -32601)

    task = await start(client, "quick")
    bad_update = await rpc(client, "tasks/update", {"taskId": task["taskId"], "inputResponses": [1]})
    assert error_of(bad_update)[:2] == (200, -32602)
    await until(client, task["taskId"], "completed")


async def test_without_the_extension_an_optional_task_tool_answers_at_once(client: httpx.AsyncClient) -> None:
    plain = await rpc(client, "tools/call", {"name": "quick", "arguments": {}}, capabilities={})
    assert plain.json()["result"]["content"][0]["text"] == "done"
    # A tool that starts its task itself goes on synchronously when it cannot.
    small = await rpc(client, "tools/call", {"name": "maybe", "arguments": {"big": True}}, capabilities={})
    assert small.json()["result"]["content"][0]["text"] == "small, at once"
    now = (await rpc(client, "tools/call", {"name": "maybe", "arguments": {"big": False}})).json()["result"]
    assert now["resultType"] == "complete" and now["content"][0]["text"] == "small, at once"
    task = (await rpc(client, "tools/call", {"name": "maybe", "arguments": {"big": True}})).json()["result"]
    assert task["resultType"] == "task"
    assert (await until(client, task["taskId"], "completed"))["result"]["content"][0]["text"] == "big, as a task"


async def test_a_task_belongs_to_its_principal(client: httpx.AsyncClient) -> None:
    task = await start(client, "quick", token="alice-token")
    await until(client, task["taskId"], "completed")
    unknown = error_of(await rpc(client, "tasks/get", {"taskId": "no-such-task-0123456789"}, token="bob-token"))
    for token in ("bob-token", None):  # another agent, or nobody at all
        for method in ("tasks/get", "tasks/update", "tasks/cancel"):
            response = await rpc(client, method, {"taskId": task["taskId"], "inputResponses": {}}, token=token)
            assert error_of(response) == unknown  # exactly as if it did not exist
            assert "result" not in response.text
    assert (await get(client, task["taskId"]))["status"] == "completed"


async def test_the_record_is_sealed_and_holds_the_principal_key_only(store: MemoryStore,
                                                                    client: httpx.AsyncClient) -> None:
    task = await start(client, "charge", {"card": SECRET_ARGUMENT})
    raw = next(v for k, (v, _) in store._data.items() if k.endswith(":task:" + task["taskId"]))
    assert SECRET_ARGUMENT.encode() not in raw and b"alice-token" not in raw
    record = TaskRecord(**msgpack.unpackb(raw))
    assert record.owner == "/alice/alice"  # tenant/subject/agent: the principal's key
    assert SECRET_ARGUMENT.encode() not in record.sealed
    # Sealed for this task and owner: moved to another task it does not open.
    sealer = Sealer("unit-secret", "task")
    assert sealer.open(record.sealed, f"{record.id}\x00{record.owner}".encode()) is not None
    assert sealer.open(record.sealed, f"other-task-id-0000\x00{record.owner}".encode()) is None
    assert Sealer("other-secret", "task").open(record.sealed, f"{record.id}\x00{record.owner}".encode()) is None
    flipped = record.sealed[:-1] + bytes([record.sealed[-1] ^ 1])
    assert sealer.open(flipped, f"{record.id}\x00{record.owner}".encode()) is None


async def test_input_during_a_task_and_updates_that_are_ignored(client: httpx.AsyncClient) -> None:
    task = await start(client, "ask_twice")
    parked = await until(client, task["taskId"], "input_required")
    assert list(parked["inputRequests"]) == ["a"]
    assert parked["inputRequests"]["a"]["method"] == "elicitation/create"
    assert parked["statusMessage"] == "Waiting for input: a"
    ack = (await rpc(client, "tasks/update", {"taskId": task["taskId"], "inputResponses": {"zzz": {}}})).json()
    assert ack["result"]["resultType"] == "complete" and set(ack["result"]) == {"resultType", "_meta"}
    assert (await get(client, task["taskId"]))["inputRequests"] == parked["inputRequests"]  # ignored
    answer = {"action": "accept", "content": {"v": "x"}}
    await rpc(client, "tasks/update", {"taskId": task["taskId"], "inputResponses": {"a": answer}})
    again = await until(client, task["taskId"], "input_required")  # the next run asks for b
    assert list(again["inputRequests"]) == ["b"]  # a, answered, is never asked again
    await rpc(client, "tasks/update", {"taskId": task["taskId"],
                                       "inputResponses": {"b": {"action": "accept", "content": {"v": "y"}}}})
    done = await until(client, task["taskId"], "completed")
    assert done["result"]["content"][0]["text"] == "x+y"


async def test_a_partial_answer_keeps_the_task_waiting_for_the_rest(client: httpx.AsyncClient) -> None:
    task = await start(client, "ask_both")
    parked = await until(client, task["taskId"], "input_required")
    assert sorted(parked["inputRequests"]) == ["x", "y"]
    await rpc(client, "tasks/update", {"taskId": task["taskId"],
                                       "inputResponses": {"x": {"action": "accept", "content": {"v": "1"}}}})
    waiting = await get(client, task["taskId"])
    assert waiting["status"] == "input_required" and list(waiting["inputRequests"]) == ["y"]
    await rpc(client, "tasks/update", {"taskId": task["taskId"],
                                       "inputResponses": {"y": {"action": "accept", "content": {"v": "2"}}}})
    assert (await until(client, task["taskId"], "completed"))["result"]["content"][0]["text"] == "12"


async def test_cancel_and_a_cancel_of_a_finished_task(app: EdgeMCP, client: httpx.AsyncClient) -> None:
    running = await start(client, "charge", {"card": SECRET_ARGUMENT})
    ack = await rpc(client, "tasks/cancel", {"taskId": running["taskId"]})
    assert ack.status_code == 200 and set(ack.json()["result"]) == {"resultType", "_meta"}
    assert (await get(client, running["taskId"]))["status"] == "cancelled"
    app.gate.set()  # type: ignore[attr-defined]  # the work would finish now; the task stays cancelled
    await asyncio.sleep(0.05)
    assert (await get(client, running["taskId"]))["status"] == "cancelled"

    finished = await start(client, "quick")
    await until(client, finished["taskId"], "completed")
    again = await rpc(client, "tasks/cancel", {"taskId": finished["taskId"]})
    assert again.status_code == 200 and "error" not in again.json()  # idempotent: an ack
    assert (await get(client, finished["taskId"]))["status"] == "completed"


async def test_pending_tasks_are_limited_per_principal(store: MemoryStore) -> None:
    app = make_app(store, max_pending_tasks=2)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app.asgi()), base_url="http://localhost") as client:
        first = await start(client, "charge", {"card": "1"})
        await start(client, "charge", {"card": "2"})
        over = await rpc(client, "tools/call", {"name": "charge", "arguments": {"card": "3"}})
        assert error_of(over)[:2] == (429, -31429)
        assert over.json()["error"]["data"] == {"limit": 2, "retryAfterMs": 500}
        assert over.headers["retry-after"] == "1"
        assert (await start(client, "charge", {"card": "4"}, token="bob-token"))["status"] == "working"
        await rpc(client, "tasks/cancel", {"taskId": first["taskId"]})
        assert (await start(client, "charge", {"card": "5"}))["status"] == "working"
        app.gate.set()  # type: ignore[attr-defined]
        await asyncio.sleep(0.05)


async def test_results_are_gone_after_their_ttl(client: httpx.AsyncClient) -> None:
    task = await start(client, "fleeting")
    assert task["ttlMs"] == 300
    assert (await until(client, task["taskId"], "completed"))["result"]["content"][0]["text"] == "soon gone"
    for _ in range(100):
        response = await rpc(client, "tasks/get", {"taskId": task["taskId"]})
        if response.status_code == 404:
            break
        await asyncio.sleep(0.05)
    assert error_of(response)[:2] == (404, -32602)


async def test_handshake_era_never_gets_a_task(client: httpx.AsyncClient) -> None:
    init = await client.post("/mcp", headers={"accept": ACCEPT}, json={
        "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": TASKS, "clientInfo": {"name": "t", "version": "1"}}})
    session = {"accept": ACCEPT, "mcp-session-id": init.headers["mcp-session-id"],
               "mcp-protocol-version": "2025-11-25"}
    assert "extensions" not in init.json()["result"]["capabilities"]
    quick = await client.post("/mcp", headers=session, json={
        "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "quick", "arguments": {}}})
    assert quick.json()["result"]["content"][0]["text"] == "done"
    required = await client.post("/mcp", headers=session, json={
        "jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "broken", "arguments": {}}})
    assert required.json()["error"]["code"] == -32021
    get_task = await client.post("/mcp", headers=session, json={
        "jsonrpc": "2.0", "id": 3, "method": "tasks/get", "params": {"taskId": "no-such-task-0123456789"}})
    assert get_task.json()["error"]["code"] == -32601


def test_a_store_that_cannot_hold_tasks_is_refused_at_start() -> None:
    kv = WorkersKVStore(FakeKVNamespace())
    with pytest.raises(ConfigurationError, match="task support needs a strongly consistent"):
        make_app(kv).start()  # type: ignore[arg-type]
    # Workers KV with the (exact) Durable Object beside it: task records go to the exact one.
    exact = MemoryStore()
    split = SplitStore(kv, exact)
    runtime = make_app(split).start()  # type: ignore[arg-type]
    for kind in ("task", "task-lease", "task-cancel", "task-quota"):
        assert split.route(runtime.keyspace.key(f"{kind}:x")) is exact
    plain = EdgeMCP("no-tasks", secret="s", store=kv)

    @plain.tool()
    def hello() -> str:
        return "hi"

    plain.start()  # no task tool: KV alone is fine
