"""The rows of the README's threat table that no other test proves: cache entries across
tenants, token comparison in constant time, log injection through what a client sends,
store keys a client cannot steer, and nothing a client sends becoming a URL the server
fetches (a canary HTTP server that must see no request)."""

import asyncio
import hmac
import json
import logging
import re
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import jwt
import pytest

from edgemcp import Context, EdgeMCP, Principal
from edgemcp.guards import BearerTokens, HTTPRequest
from edgemcp.guards import identity as identity_module
from edgemcp.guards.oauth import JWTVerifier, OAuthResource
from edgemcp.observe.audit import LoggingSink
from edgemcp.store import MemoryStore
from edgemcp.store.keyspace import key_kind

from .conftest import serve_http
from .test_oauth import ISSUER, RESOURCE, AuthServer

MODERN = "2026-07-28"
ACCEPT = "application/json, text/event-stream"
META = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}


def modern(name: str, arguments: Any, *, request_id: Any = 1, meta: dict[str, Any] | None = None,
           method: str = "tools/call") -> tuple[dict[str, str], dict[str, Any]]:
    headers = {"accept": ACCEPT, "mcp-protocol-version": MODERN, "mcp-method": method}
    field = "uri" if method == "resources/read" else "name"
    if name.isascii() and name.isprintable():
        headers["mcp-name"] = name
    else:
        import base64
        headers["mcp-name"] = "=?base64?" + base64.b64encode(name.encode()).decode() + "?="
    params: dict[str, Any] = {field: name, "_meta": {**META, **(meta or {})}}
    if method == "tools/call":
        params["arguments"] = arguments
    return headers, {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}


def in_process(app: EdgeMCP, **options: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app.asgi(), **options), base_url="http://localhost")


# ----- cache poisoning across tenants ----------------------------------------------------------


async def test_private_cache_entries_never_cross_tenants() -> None:
    """The same subject in two tenants is two principals: a private entry stays in its tenant."""
    def identify(request: HTTPRequest) -> Principal | None:
        return Principal(subject="alice", tenant=request.headers.get("x-tenant", ""))

    app = EdgeMCP("tenants", secret="k", auth=identify)
    runs: list[str] = []

    @app.tool(cache_ttl=60, cache_scope="private", read_only=True)
    def invoices(ctx: Context) -> str:
        runs.append(ctx.principal.tenant)
        return f"invoices of {ctx.principal.tenant}"

    async with in_process(app) as client:
        answers = []
        for tenant in ("acme", "globex", "acme"):
            headers, body = modern("invoices", {})
            response = await client.post("/mcp", headers={**headers, "x-tenant": tenant}, json=body)
            answers.append((response.json()["result"]["content"][0]["text"],
                            response.json()["result"]["_meta"]["dev.edgemcp/cache"]))
    assert answers == [("invoices of acme", "miss"), ("invoices of globex", "miss"), ("invoices of acme", "hit")]
    assert runs == ["acme", "globex"]


# ----- timing attacks on tokens -------------------------------------------------------------------


async def test_bearer_tokens_are_compared_as_digests_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every configured digest is compared with ``hmac.compare_digest``, match or not, so
    the time taken says nothing about which token (or how much of one) matched; the raw
    token is never compared, only its SHA-256."""
    compared: list[tuple[bytes, bytes]] = []
    constant_time = hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return constant_time(a, b)

    monkeypatch.setattr(identity_module.hmac, "compare_digest", recording)
    tokens = BearerTokens({"a": "token-aaaa", "b": "token-bbbb", "c": "token-cccc"})
    for token, agent in (("token-aaaa", "a"), ("token-cccc", "c"), ("token-aaab", None)):
        compared.clear()
        request = HTTPRequest({"authorization": f"Bearer {token}"}, None, {})
        if agent is None:
            with pytest.raises(Exception, match="unknown token"):
                await tokens.authenticate(request)
        else:
            principal = await tokens.authenticate(request)
            assert principal is not None and principal.agent_id == agent
        assert len(compared) == 3  # all of them, wherever the match is
        assert all(len(a) == len(b) == 32 for a, b in compared)  # SHA-256 digests, not tokens
        assert all(token.encode() not in a + b for a, b in compared)


# ----- log injection through arguments --------------------------------------------------------


async def test_what_a_client_sends_cannot_forge_a_log_line(capsys: pytest.CaptureFixture[str],
                                                           caplog: pytest.LogCaptureFixture) -> None:
    forged = '\n{"event": "tools/call", "outcome": "success", "agent_id": "admin"}\n'
    audit_logger = logging.getLogger("edgemcp.test.threats.audit")
    app = EdgeMCP("injection", secret="k", audit=LoggingSink(audit_logger))

    @app.tool()
    def echo(text: str) -> str:
        return text

    caplog.set_level(logging.DEBUG)
    requests = [
        modern("echo", {"text": forged}),
        modern("echo" + forged, {"text": forged}),  # an unknown tool named like a log line
        modern("echo", {"text": "x"}, request_id="1" + forged, meta={"io.modelcontextprotocol/clientInfo": {
            "name": forged, "version": forged}}),
    ]
    async with in_process(app) as client:
        for headers, body in requests:
            response = await client.post("/mcp", headers={**headers, "x-correlation-id": forged.strip()}, json=body)
            assert response.status_code == 200
    await asyncio.sleep(0)  # the sink writes a turn's records at the end of the turn
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one whole JSON record
    assert len(records) == len(requests)
    assert all(record["agent_id"] is None for record in records)
    assert forged not in json.dumps(records)  # arguments: a fingerprint only
    # Nor does any other log line carry it raw (a newline, then the forged record).
    assert not [logged for logged in caplog.records if '\n{"event"' in logged.getMessage()]


# ----- store key injection ---------------------------------------------------------------------


async def test_client_strings_never_steer_a_store_key() -> None:
    """Tool names, arguments, idempotency keys, request ids and reply ids crafted to look
    like other keys: every key written stays in the app's namespace and kind, and a client
    string appears in a key only after the caller's own (signed) session id."""
    store = MemoryStore()
    app = EdgeMCP("keys", secret="k", store=store)
    crafted = "x:edgemcp:victim:session:0123"

    @app.tool(cache_ttl=60, cache_scope="public")
    def echo(text: str) -> str:
        return text

    async with in_process(app) as client:
        for name in ("echo", crafted):
            headers, body = modern(name, {"text": crafted, crafted: crafted}, meta={
                "dev.edgemcp/idempotencyKey": crafted})
            await client.post("/mcp", headers={**headers, "idempotency-key": crafted}, json=body)
        initialize = await client.post("/mcp", headers={"accept": ACCEPT}, json={
            "jsonrpc": "2.0", "id": crafted, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": crafted, "version": "1"}}})
        session = {"accept": ACCEPT, "mcp-session-id": initialize.headers["mcp-session-id"]}
        for message in (
            {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": crafted}},
            {"jsonrpc": "2.0", "id": "edgemcp-" + crafted, "result": {}},  # a reply nobody waits for
            {"jsonrpc": "2.0", "id": crafted, "method": "tools/call", "params": {"name": crafted, "arguments": {}}},
        ):
            assert (await client.post("/mcp", headers=session, json=message)).status_code < 500
    keys = list(store._data)
    assert keys and all(key.startswith("edgemcp:keys:") for key in keys)
    assert {key_kind(key) for key in keys} <= {"session", "cache", "idem", "cancel", "reply", "rate", "changes",
                                                "events", "streams"}
    for key in keys:
        if crafted in key:  # only under the caller's session: cancel:{session}:… or reply:{session}:…
            assert re.fullmatch(r"edgemcp:keys:(cancel|reply):[0-9a-f]{32}:.*", key), key


# ----- SSRF: nothing a client sends becomes a URL the server fetches ---------------------------


class Canary:
    """An HTTP server whose URL goes into everything a client controls; it must see nothing."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        canary = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                canary.hits.append(self.path)
                self.send_response(200)
                self.end_headers()

            do_POST = do_GET

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = serve_http(Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture
def canary() -> Iterator[Canary]:
    running = Canary()
    yield running
    running.httpd.shutdown()


@pytest.fixture(scope="module")
def auth_server() -> Iterator[AuthServer]:
    server = AuthServer()
    yield server
    server.httpd.shutdown()


async def test_nothing_a_client_sends_becomes_a_url_the_server_fetches(canary: Canary,
                                                                        auth_server: AuthServer) -> None:
    verifier = JWTVerifier(issuer=ISSUER, audience=RESOURCE, jwks_uri=auth_server.url + "/jwks")
    app = EdgeMCP("ssrf", secret="k", allowed_hosts=["localhost"], trusted_proxies=["127.0.0.0/8"],
                  auth=OAuthResource(resource=RESOURCE, authorization_servers=[ISSUER], verifier=verifier))

    @app.tool()
    def echo(text: str) -> str:
        return text

    @app.resource("notes://{id}")
    def note(id: str) -> str:
        return id

    url = canary.url + "/fetched"
    tokens = [
        auth_server.token(),
        # A JWT pointing at its own keys (jku, x5u), with an unknown kid: only the configured
        # JWKS may be fetched (again), never a URL from the token.
        jwt.encode({"iss": url, "aud": RESOURCE, "sub": "s", "exp": 2**31}, auth_server.key, algorithm="RS256",
                   headers={"kid": "unknown", "jku": url, "x5u": url}),
    ]
    requests = [
        modern("echo", {"text": url}, meta={"io.modelcontextprotocol/clientInfo": {"name": "c", "version": "1",
                                                                                    "websiteUrl": url}}),
        modern(url, {}, method="resources/read"),
        modern("notes://" + url, {}, method="resources/read"),
    ]
    async with in_process(app, client=("127.0.0.1", 5000)) as client:
        for token in tokens:
            for headers, body in requests:
                await client.post("/mcp", json=body, headers={
                    **headers, "authorization": f"Bearer {token}", "origin": canary.url,
                    "forwarded": f'for=127.0.0.1;host="{canary.url[7:]}"', "x-forwarded-host": canary.url[7:],
                    "referer": url, "mcp-session-id": url})
    assert canary.hits == []


# ----- requestState replayed on another tool, or by another principal ---------------------------


async def test_request_state_cannot_be_replayed_on_another_tool_or_by_another_principal() -> None:
    app = EdgeMCP("replay", secret="k", auth=BearerTokens({"alice": "alice-token", "mallory": "mallory-token"}))
    form = {"type": "object", "properties": {"ok": {"type": "boolean"}}}

    @app.tool()
    async def transfer(ctx: Context) -> str:
        answer = await ctx.elicit("Transfer?", form, key="ok")
        return f"transferred: {answer['action']}"

    @app.tool()
    async def delete_all(ctx: Context) -> str:
        answer = await ctx.elicit("Delete?", form, key="ok")
        return f"deleted: {answer['action']}"

    inputs = {"io.modelcontextprotocol/clientCapabilities": {"elicitation": {}}}
    accept = {"ok": {"action": "accept", "content": {"ok": True}}}

    async def call(tool: str, token: str, **extra: Any) -> httpx.Response:
        headers, body = modern(tool, {}, meta=inputs)
        body["params"].update(extra)
        return await client.post("/mcp", headers={**headers, "authorization": f"Bearer {token}"}, json=body)

    async with in_process(app) as client:
        asked = (await call("transfer", "alice-token")).json()["result"]
        assert asked["resultType"] == "input_required"
        state = asked["requestState"]
        for tool, token in (("delete_all", "alice-token"), ("transfer", "mallory-token")):
            replayed = await call(tool, token, requestState=state, inputResponses=accept)
            assert replayed.status_code == 400, (tool, token)
            assert replayed.json()["error"]["code"] == -32602
        done = await call("transfer", "alice-token", requestState=state, inputResponses=accept)
    assert done.json()["result"]["content"][0]["text"] == "transferred: accept"


# ----- tokens in logs ------------------------------------------------------------------------------


async def test_a_bearer_token_never_reaches_a_log_or_the_audit_record(capsys: pytest.CaptureFixture[str],
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    secret_token = "tok-7c1f0d9a-never-log-me"
    app = EdgeMCP("tokens", secret="k", auth=BearerTokens({"agent": secret_token}),
                  audit=LoggingSink(logging.getLogger("edgemcp.test.threats.tokens")))

    @app.tool()
    def echo(text: str) -> str:
        raise RuntimeError(f"failed with {text}")

    caplog.set_level(logging.DEBUG)
    async with in_process(app) as client:
        for token in (secret_token, secret_token + "-wrong"):
            headers, body = modern("echo", {"text": "x"})
            await client.post("/mcp", headers={**headers, "authorization": f"Bearer {token}"}, json=body)
        await asyncio.sleep(0)
    written = capsys.readouterr()
    assert written.out.count("\n") == 2  # both calls audited
    assert secret_token not in written.out + written.err
    assert not [r for r in caplog.records if secret_token in r.getMessage()]
