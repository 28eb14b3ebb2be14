"""Production guards through the ASGI app: bearer tokens (static and in the store), mutual
TLS, scopes and filtered tools/list, two-layer rate limits (on a real Redis too), kill
switches, idempotency keys and dry runs."""

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from edgemcp import Context, EdgeMCP
from edgemcp.app import ConfigurationError
from edgemcp.guards import BearerTokens, MutualTLS, Rate
from edgemcp.store import Capabilities, MemoryStore, open_store

from .conftest import ROOT, RedisServer

MODERN = "2026-07-28"
ACCEPT = "application/json, text/event-stream"


def build(store: str = "memory://", **options: Any) -> tuple[EdgeMCP, dict[str, int]]:
    counts = {"delete": 0}
    options.setdefault("auth", BearerTokens(
        {"alice": "alice-token", "bob": ["bob-token", "bob-spare"]},
        scopes={"alice": ["admin"]}, tenant="acme"))
    app = EdgeMCP("guards-test", secret="k", store=store, **options)

    @app.tool(rate_limit="3/minute", read_only=True)
    def echo(text: str, ctx: Context) -> str:
        return f"{ctx.principal.agent_id}@{ctx.principal.tenant}: {text}"

    @app.tool(scopes=["admin"], destructive=True, dry_run=True)
    async def purge(target: str, ctx: Context) -> str:
        if ctx.dry_run:
            return f"would purge {target}"
        counts["delete"] += 1
        await asyncio.sleep(0.2)
        return f"purged {target} #{counts['delete']}"

    @app.tool(rate_limit=Rate.parse("2/minute", per="tool"))
    def shared_budget() -> str:
        return "ok"

    @app.tool(placement="edge")
    def edge_tool() -> str:
        return "edge"

    return app, counts


async def call(client: httpx.AsyncClient, name: str, arguments: dict[str, Any] | None = None,
               token: str | None = "alice-token", meta: dict[str, Any] | None = None,
               **headers: str) -> httpx.Response:
    request_headers = {"accept": ACCEPT, "mcp-protocol-version": MODERN, "mcp-method": "tools/call",
                       "mcp-name": name, **headers}
    if token:
        request_headers["authorization"] = f"Bearer {token}"
    return await client.post("/mcp", headers=request_headers, json={
        "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": name, "arguments": arguments or {},
            "_meta": {"io.modelcontextprotocol/protocolVersion": MODERN,
                      "io.modelcontextprotocol/clientCapabilities": {}, **(meta or {})}}})


async def list_tools(client: httpx.AsyncClient, token: str) -> list[str]:
    response = await client.post("/mcp", headers={
        "accept": ACCEPT, "mcp-protocol-version": MODERN, "mcp-method": "tools/list",
        "authorization": f"Bearer {token}"}, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {
            "_meta": {"io.modelcontextprotocol/protocolVersion": MODERN,
                      "io.modelcontextprotocol/clientCapabilities": {}}}})
    result = response.json()["result"]
    assert result["cacheScope"] == "private"  # lists differ per caller
    return [t["name"] for t in result["tools"]]


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app, _ = build()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app.asgi()), base_url="http://localhost") as c:
        yield c


# ----- identity --------------------------------------------------------------------------


async def test_bearer_token_names_the_agent(client: httpx.AsyncClient) -> None:
    response = await call(client, "echo", {"text": "hi"}, token="bob-spare")
    assert response.json()["result"]["content"][0]["text"] == "bob@acme: hi"


@pytest.mark.parametrize(("token", "why"), [(None, "credentials required"), ("nope", "unknown token")])
async def test_missing_or_unknown_token_is_401(client: httpx.AsyncClient, token: str | None, why: str) -> None:
    response = await call(client, "echo", {"text": "hi"}, token=token)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    error = response.json()["error"]
    assert error["code"] == -31401
    assert why in error["message"]


async def test_handshake_era_needs_the_token_too(client: httpx.AsyncClient) -> None:
    body = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
    assert (await client.post("/mcp", headers={"accept": ACCEPT}, json=body)).status_code == 401
    ok = await client.post("/mcp", headers={"accept": ACCEPT, "authorization": "Bearer bob-token"}, json=body)
    session = ok.headers["mcp-session-id"]
    # Someone else's token with bob's session: treated as an unknown session.
    stolen = await client.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers={
        "accept": ACCEPT, "mcp-session-id": session, "authorization": "Bearer alice-token"})
    assert stolen.status_code == 404


async def test_store_tokens_are_added_and_revoked_without_a_redeploy() -> None:
    tokens = BearerTokens({"alice": "alice-token"})
    app, _ = build(auth=tokens)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app.asgi()), base_url="http://localhost") as client:
        assert (await call(client, "edge_tool", token="carol-token")).status_code == 401
        await tokens.add("carol", "carol-token", ["admin"])
        assert (await call(client, "purge", {"target": "x"}, token="carol-token")).status_code == 200
        await tokens.revoke("carol-token")
        revoked = await call(client, "edge_tool", token="carol-token")
        assert revoked.status_code == 401 and "revoked" in revoked.json()["error"]["message"]
        await tokens.revoke("alice-token")  # a configured token can be revoked too
        assert (await call(client, "edge_tool", token="alice-token")).status_code == 401


async def test_mtls_header_only_from_a_trusted_proxy() -> None:
    app, _ = build(auth=MutualTLS(trusted_proxies=["10.9.9.9"], tenant="acme"))
    transport = httpx.ASGITransport(app=app.asgi(), client=("10.9.9.9", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        ok = await call(client, "echo", {"text": "x"}, token=None, **{"x-client-cert-subject": "CN=robot"})
        assert ok.json()["result"]["content"][0]["text"] == "CN=robot@acme: x"
    untrusted = httpx.ASGITransport(app=app.asgi(), client=("127.0.0.1", 5000))
    async with httpx.AsyncClient(transport=untrusted, base_url="http://localhost") as client:
        ignored = await call(client, "echo", {"text": "x"}, token=None, **{"x-client-cert-subject": "CN=robot"})
        assert ignored.status_code == 401


async def test_mtls_from_the_asgi_tls_extension_and_cloudflare_fields() -> None:
    from edgemcp.guards import HTTPRequest

    guard = MutualTLS()
    tls = HTTPRequest({}, ("1.2.3.4", 1), {"extensions": {"tls": {"client_cert_name": "CN=svc"}}})
    assert (await guard.authenticate(tls)).subject == "CN=svc"  # type: ignore[union-attr]
    cf = HTTPRequest({}, None, {"cf": {"tlsClientAuth": {"certPresented": "1", "certVerified": "SUCCESS",
                                                         "certSubjectDN": "CN=edge"}}})
    assert (await guard.authenticate(cf)).subject == "CN=edge"  # type: ignore[union-attr]
    unverified = HTTPRequest({}, None, {"cf": {"tlsClientAuth": {"certPresented": "1", "certVerified": "FAILED"}}})
    assert await guard.authenticate(unverified) is None


# ----- authorization ---------------------------------------------------------------------


async def test_tools_list_shows_only_what_the_principal_may_call(client: httpx.AsyncClient) -> None:
    assert await list_tools(client, "alice-token") == ["echo", "purge", "shared_budget", "edge_tool"]
    assert await list_tools(client, "bob-token") == ["echo", "shared_budget", "edge_tool"]


async def test_missing_scope_is_a_permanent_403(client: httpx.AsyncClient) -> None:
    response = await call(client, "purge", {"target": "db"}, token="bob-token")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == -31403
    assert error["data"] == {"requiredScopes": ["admin"]}
    assert "needs scope admin" in error["message"]


# ----- rate limits -----------------------------------------------------------------------


async def test_tool_budget_per_agent_then_429(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        assert (await call(client, "echo", {"text": "x"})).status_code == 200
    limited = await call(client, "echo", {"text": "x"})
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 20
    error = limited.json()["error"]
    assert error["code"] == -31429
    assert error["data"]["layer"] == "tool" and error["data"]["limit"] == 3
    assert 0 < error["data"]["retryAfterMs"] <= 20000
    # Another agent has its own budget for the same tool.
    assert (await call(client, "echo", {"text": "x"}, token="bob-token")).status_code == 200


async def test_shared_tool_budget_and_agent_layer_compose() -> None:
    app, _ = build(rate_limit="3/minute")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app.asgi()), base_url="http://localhost") as client:
        assert (await call(client, "shared_budget")).status_code == 200
        assert (await call(client, "shared_budget", token="bob-token")).status_code == 200
        over = await call(client, "shared_budget", token="bob-token")
        assert over.json()["error"]["data"]["layer"] == "tool"  # one budget for everyone
        # The refused call gave its agent-layer token back: bob still has 2 of 3.
        assert (await call(client, "edge_tool", token="bob-token")).status_code == 200
        assert (await call(client, "edge_tool", token="bob-token")).status_code == 200
        agent_over = await call(client, "edge_tool", token="bob-token")
        assert agent_over.status_code == 429
        assert agent_over.json()["error"]["data"]["layer"] == "agent"


async def test_exactly_the_budget_passes_under_concurrency_on_redis(redis_server: RedisServer) -> None:
    store = open_store(redis_server.url)
    await store.client.flushdb()  # type: ignore[attr-defined]
    await store.aclose()
    app, _ = build(redis_server.url)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app.asgi()), base_url="http://localhost") as client:
        responses = await asyncio.gather(*(call(client, "echo", {"text": str(i)}) for i in range(25)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) == 3 and statuses.count(429) == 22
    await app.runtime.store.aclose()


def test_rate_limits_refuse_an_eventually_consistent_store() -> None:
    class EventualStore(MemoryStore):
        capabilities = Capabilities(consistency="eventual", atomic=False, pubsub=False, min_ttl=60)

    app, _ = build()
    app.configure(store=EventualStore())
    with pytest.raises(ConfigurationError, match="rate limiting needs atomic operations"):
        app.runtime  # noqa: B018


def test_rates_parse() -> None:
    assert Rate.parse("5/minute") == Rate(5, 60)
    assert Rate.parse("10/30s").per_second == pytest.approx(1 / 3)
    with pytest.raises(ValueError):
        Rate.parse("lots")


# ----- kill switches ---------------------------------------------------------------------


async def test_kill_switch_by_tool_and_by_placement() -> None:
    app, _ = build(kill_switch_refresh=0)
    switches = app.runtime.pipeline.kill_switches
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app.asgi()), base_url="http://localhost") as client:
        await switches.set("tool:echo", "incident 42")
        disabled = await call(client, "echo", {"text": "x"})
        assert disabled.status_code == 403
        assert disabled.json()["error"]["code"] == -31423
        assert "incident 42" in disabled.json()["error"]["message"]
        assert "echo" not in await list_tools(client, "alice-token")
        await switches.set("placement:edge", "edge outage")
        assert (await call(client, "edge_tool")).status_code == 403
        await switches.set("tool:echo", None)
        await switches.set("placement:edge", None)
        assert (await call(client, "echo", {"text": "x"})).status_code == 200
        assert (await call(client, "edge_tool")).status_code == 200


def test_cli_disables_enables_and_lists(redis_server: RedisServer) -> None:
    def cli(*args: str) -> str:
        return subprocess.run([sys.executable, "-m", "edgemcp", *args, "--store", redis_server.url],
                              capture_output=True, text=True, check=True, cwd=ROOT).stdout

    assert "tool:echo: disabled" in cli("tools", "disable", "echo", "--app", "guarded", "--reason", "abuse")
    listing = cli("tools", "list", "--app", "examples.guarded_server:mcp")
    assert "echo\tany\tdisabled (abuse)" in listing
    assert "list_records\tedge\tenabled" in listing
    assert "tool:echo: enabled" in cli("tools", "enable", "echo", "--app", "guarded")
    assert "echo\tany\tenabled" in cli("tools", "list", "--app", "examples.guarded_server:mcp")


# ----- idempotency and dry runs -----------------------------------------------------------


async def test_idempotent_retry_replays_the_first_result() -> None:
    app, counts = build()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app.asgi()), base_url="http://localhost") as client:
        key = {"dev.edgemcp/idempotencyKey": "order-1"}
        first = (await call(client, "purge", {"target": "a"}, meta=key)).json()["result"]
        again = (await call(client, "purge", {"target": "a"}, meta=key)).json()["result"]
        header = (await call(client, "purge", {"target": "a"}, **{"idempotency-key": "order-1"})).json()["result"]
        assert first["content"] == again["content"] == header["content"] == [{"type": "text", "text": "purged a #1"}]
        assert again["_meta"]["dev.edgemcp/idempotency"] == "replayed"
        assert counts["delete"] == 1
        reused = await call(client, "purge", {"target": "b"}, meta=key)
        assert reused.status_code == 409 and reused.json()["error"]["code"] == -31409
        # Keys are per principal: the same key from another agent is another operation.
        other_agent_key = await call(client, "purge", {"target": "a"}, token="bob-token", meta=key)
        assert other_agent_key.status_code == 403  # bob lacks the scope; no replay leaks


async def test_concurrent_duplicates_run_once() -> None:
    app, counts = build()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app.asgi()), base_url="http://localhost") as client:
        key = {"dev.edgemcp/idempotencyKey": "dup-1"}
        results = await asyncio.gather(*(call(client, "purge", {"target": "z"}, meta=key) for _ in range(5)))
    assert counts["delete"] == 1
    assert {r.json()["result"]["content"][0]["text"] for r in results} == {"purged z #1"}


async def test_a_running_call_keeps_its_claim_past_the_lease() -> None:
    """The claim is a lease renewed while the call runs: a duplicate that comes after
    several leases have passed still finds it held (and gets the first result replayed)."""
    app, counts = build(idempotency_lease=0.05)  # purge runs 0.2 s: four leases
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app.asgi()), base_url="http://localhost") as client:
        key = {"dev.edgemcp/idempotencyKey": "long-1"}
        first = asyncio.ensure_future(call(client, "purge", {"target": "y"}, meta=key))
        await asyncio.sleep(0.12)
        duplicate = (await call(client, "purge", {"target": "y"}, meta=key)).json()["result"]
        assert (await first).json()["result"]["content"] == duplicate["content"]
    assert counts["delete"] == 1
    assert duplicate["_meta"]["dev.edgemcp/idempotency"] == "replayed"


async def test_dry_run(client: httpx.AsyncClient) -> None:
    dry = await call(client, "purge", {"target": "prod"}, meta={"dev.edgemcp/dryRun": True})
    assert dry.json()["result"]["content"][0]["text"] == "would purge prod"
    refused = await call(client, "echo", {"text": "x"}, meta={"dev.edgemcp/dryRun": True})
    assert refused.json()["error"]["code"] == -32602
    assert "does not support dry runs" in refused.json()["error"]["message"]


async def test_replies_and_delete_need_the_session_owner(client: httpx.AsyncClient) -> None:
    body = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
    session = (await client.post("/mcp", headers={"accept": ACCEPT, "authorization": "Bearer bob-token"},
                                 json=body)).headers["mcp-session-id"]
    as_alice = {"accept": ACCEPT, "mcp-session-id": session, "authorization": "Bearer alice-token"}
    reply = await client.post("/mcp", headers=as_alice, json={"jsonrpc": "2.0", "id": "edgemcp-x", "result": {}})
    assert reply.status_code == 404
    assert (await client.delete("/mcp", headers=as_alice)).status_code == 404
    as_bob = {**as_alice, "authorization": "Bearer bob-token"}
    assert (await client.post("/mcp", headers=as_bob, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})).status_code == 200
