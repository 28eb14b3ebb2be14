"""The Workers adapter's logic under CPython, with FAKE bindings and a FAKE platform
(tests/fakes): configuration from env, the ASGI scope, JSON and streamed responses,
client aborts, errors. The same code runs in real Pyodide in tests/test_workers_pyodide.py."""

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from edgemcp import Context, EdgeMCP
from edgemcp.app import ConfigurationError
from edgemcp.cloudflare import WorkerHandler, binding_store, request_scope
from edgemcp.cloudflare.bridge import Exchange
from edgemcp.cloudflare.config import WorkerSettings
from edgemcp.guards import Rate
from edgemcp.store import MemoryStore
from edgemcp.store.durable import DurableObjectStore
from edgemcp.store.kv import WorkersKVStore
from edgemcp.store.split import SplitStore

from .fakes.cloudflare import (
    FakeDurableObjectNamespace,
    FakeEnv,
    FakeKVNamespace,
    FakePlatform,
    FakeResponse,
)

ACCEPT = "application/json, text/event-stream"
URL = "https://127.0.0.1/mcp"
MODERN = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
          "io.modelcontextprotocol/clientCapabilities": {}}


def make_app() -> EdgeMCP:
    app = EdgeMCP("worker-test")

    @app.tool()
    def hello(name: str) -> str:
        return f"hello {name}"

    @app.tool()
    async def slow(ctx: Context) -> str:
        try:
            for step in range(100):
                await ctx.progress(step, 100)
                await asyncio.sleep(0.02)
        except asyncio.CancelledError:
            ENDED.append("cancelled")
            raise
        return "finished"

    return app


ENDED: list[str] = []


def env(**overrides: Any) -> FakeEnv:
    values: dict[str, Any] = {"EDGEMCP_SECRET": "s3cret", "EDGEMCP_KV": FakeKVNamespace()}
    return FakeEnv(**{**values, **overrides})


async def body_of(data: bytes, chunk: int = 7) -> AsyncIterator[bytes]:
    for start in range(0, len(data), chunk):
        yield data[start:start + chunk]


async def post(handler: WorkerHandler, worker_env: FakeEnv, message: dict[str, Any],
               headers: dict[str, str] | None = None, platform: FakePlatform | None = None,
               on_abort: Callable[[Callable[[], None]], None] | None = None,
               kept: list[Any] | None = None) -> FakeResponse:
    sent = {"host": "127.0.0.1", "content-type": "application/json", "accept": ACCEPT, **(headers or {})}
    response: FakeResponse = await handler.handle(
        method="POST", url=URL, headers=list(sent.items()), body=body_of(json.dumps(message).encode()),
        env=worker_env, platform=platform or FakePlatform(), cf={"colo": "LIS"},
        on_abort=on_abort, keep_alive=kept.append if kept is not None else None,
    )
    return response


def modern_call(name: str, arguments: dict[str, Any], progress: bool = False) -> tuple[dict[str, Any], dict[str, str]]:
    meta = {**MODERN, **({"progressToken": "p"} if progress else {})}
    return ({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
             "params": {"name": name, "arguments": arguments, "_meta": meta}},
            {"mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": name})


# ----- scope ---------------------------------------------------------------------------------


def test_request_scope_maps_url_headers_cf_and_env() -> None:
    bindings = FakeEnv(EDGEMCP_KV=FakeKVNamespace())
    scope = request_scope("post", "https://mcp.example.com:8443/mcp%20x?a=1",
                          [("Content-Type", "application/json"), ("CF-Connecting-IP", "203.0.113.9")],
                          cf={"tlsClientAuth": {"certPresented": "1"}}, env=bindings)
    assert scope["method"] == "POST" and scope["path"] == "/mcp x" and scope["raw_path"] == b"/mcp%20x"
    assert scope["query_string"] == b"a=1" and scope["scheme"] == "https"
    assert scope["server"] == ("mcp.example.com", 8443)
    assert scope["headers"][0] == (b"content-type", b"application/json")
    assert scope["client"] == ("203.0.113.9", 0)
    assert scope["cf"]["tlsClientAuth"] == {"certPresented": "1"} and scope["env"] is bindings


# ----- configuration from env ----------------------------------------------------------------


async def test_a_missing_secret_is_a_clear_json_rpc_error_never_a_random_secret() -> None:
    handler = WorkerHandler(make_app())
    response = await post(handler, env(EDGEMCP_SECRET=None), {"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert response.status == 503
    error = json.loads(response.text())["error"]
    assert error["code"] == -32603 and "EDGEMCP_SECRET is not set" in error["message"]
    assert "Traceback" not in response.text()
    assert handler.app._runtime is None  # nothing was built with a made-up secret


async def test_a_missing_binding_is_named() -> None:
    handler = WorkerHandler(make_app())
    response = await post(handler, FakeEnv(EDGEMCP_SECRET="s"), {"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert response.status == 503
    assert "names the binding 'EDGEMCP_KV'" in json.loads(response.text())["error"]["message"]


async def test_rate_limits_on_kv_alone_are_refused_with_a_clear_error() -> None:
    app = make_app()
    app.settings.rate_limit = Rate.parse("5/minute")
    response = await post(WorkerHandler(app), env(), {"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert response.status == 503
    assert "rate limiting needs atomic" in json.loads(response.text())["error"]["message"]
    fine = await post(WorkerHandler(app), env(EDGEMCP_EXACT_STORE="durable://EDGEMCP_DO",
                                              EDGEMCP_DO=FakeDurableObjectNamespace()),
                      {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                          "protocolVersion": "2025-11-25", "capabilities": {},
                          "clientInfo": {"name": "t", "version": "1"}}})
    assert fine.status == 200


def test_store_urls_name_bindings() -> None:
    bindings = env(EDGEMCP_DO=FakeDurableObjectNamespace())
    assert isinstance(binding_store("kv://EDGEMCP_KV", bindings), WorkersKVStore)
    sharded = binding_store("durable://EDGEMCP_DO?shards=8", bindings)
    assert isinstance(sharded, DurableObjectStore) and sharded.shards == 8
    assert isinstance(binding_store("memory://", bindings), MemoryStore)
    for bad in ("redis://x", "durable://EDGEMCP_DO?shards=0", "kv://NOPE"):
        with pytest.raises(ConfigurationError):
            binding_store(bad, bindings)
    settings = WorkerSettings.from_env(env(EDGEMCP_EXACT_STORE="durable://EDGEMCP_DO",
                                           EDGEMCP_DO=FakeDurableObjectNamespace(),
                                           EDGEMCP_ALLOWED_HOSTS="a.example, b.example"))
    assert settings.store == "kv://EDGEMCP_KV" and settings.allowed_hosts == ("a.example", "b.example")
    assert isinstance(settings.open_store(bindings), SplitStore)


async def test_hosts_come_from_env_and_a_changed_secret_reconfigures() -> None:
    handler = WorkerHandler(make_app())
    bindings = env(EDGEMCP_ALLOWED_HOSTS="mcp.example.com")
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    refused = await post(handler, bindings, ping)  # Host 127.0.0.1 is no longer allowed
    assert refused.status == 403
    first = handler.app.runtime
    await post(handler, bindings, ping)
    assert handler.app.runtime is first  # same env: configured once per isolate
    bindings.EDGEMCP_SECRET = "rotated"
    await post(handler, bindings, ping)
    assert handler.app.runtime is not first


# ----- requests ---------------------------------------------------------------------------


async def test_a_session_started_on_one_isolate_continues_on_another_through_kv() -> None:
    shared = env()
    one, two = WorkerHandler(make_app()), WorkerHandler(make_app())  # two isolates, one KV
    started = await post(one, shared, {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
    assert started.status == 200
    session = {"mcp-session-id": started.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
    assert any(":session:" in key for key in shared.EDGEMCP_KV.data)
    called = await post(two, shared, {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                      "params": {"name": "hello", "arguments": {"name": "edge"}}}, session)
    assert called.status == 200
    assert json.loads(called.text())["result"]["content"][0]["text"] == "hello edge"


async def test_a_plain_result_is_one_body_and_a_stream_is_streamed() -> None:
    handler = WorkerHandler(make_app())
    message, headers = modern_call("hello", {"name": "x"})
    plain = await post(handler, env(), message, headers)
    assert plain.status == 200 and plain.stream is None
    assert json.loads(plain.text())["result"]["content"][0]["text"] == "hello x"

    platform, kept = FakePlatform(), []
    message, headers = modern_call("slow", {}, progress=True)
    streamed = await post(handler, env(), message, headers, platform=platform, kept=kept)
    assert streamed.headers["content-type"] == "text/event-stream" and streamed.stream is not None
    assert len(kept) == 1  # the body goes on after the head: ctx.waitUntil holds the task
    await kept[0]
    assert streamed.stream.closed
    events = [json.loads(line[6:]) for line in streamed.text().splitlines() if line.startswith("data: ")]
    assert events[0]["method"] == "notifications/progress"
    assert events[-1]["result"]["content"][0]["text"] == "finished"


async def test_a_client_abort_cancels_the_call() -> None:
    handler = WorkerHandler(make_app())
    aborts: list[Callable[[], None]] = []
    kept: list[Any] = []
    ENDED.clear()
    message, headers = modern_call("slow", {}, progress=True)
    streamed = await post(handler, env(), message, headers, on_abort=aborts.append, kept=kept)
    assert streamed.stream is not None
    await asyncio.sleep(0.3)
    aborts[0]()  # request.signal fired
    await asyncio.wait_for(kept[0], 2)
    assert ENDED == ["cancelled"]
    assert not any(b'"result"' in chunk for chunk in streamed.stream.chunks)


async def test_sends_after_the_client_left_are_dropped() -> None:
    platform = FakePlatform()
    exchange = Exchange(request_scope("POST", URL, []), None, platform)
    await exchange.send({"type": "http.response.start", "status": 200, "headers": []})
    await exchange.send({"type": "http.response.body", "body": b"one", "more_body": True})
    platform.writers[0].broken = True
    await exchange.send({"type": "http.response.body", "body": b"two", "more_body": True})
    await exchange.send({"type": "http.response.body", "body": b"three", "more_body": False})
    assert platform.writers[0].chunks == [b"one"]
    assert platform.writers[0].closed
    assert await exchange.receive() == {"type": "http.disconnect"}  # what cancels the call


async def test_an_app_that_fails_gives_a_json_rpc_error_without_a_traceback() -> None:
    async def broken(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("secret detail")

    exchange = Exchange(request_scope("POST", URL, []), None, FakePlatform())
    await exchange.run(broken)
    response = exchange.response.result()
    assert response.status == 500
    assert json.loads(response.text())["error"]["code"] == -32603
    assert "secret detail" not in response.text() and "Traceback" not in response.text()


async def test_null_body_statuses_get_no_body() -> None:
    exchange = Exchange(request_scope("POST", URL, []), None, FakePlatform())
    await exchange.send({"type": "http.response.start", "status": 204, "headers": []})
    await exchange.send({"type": "http.response.body", "body": b""})
    assert exchange.response.result().body is None
