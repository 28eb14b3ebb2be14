"""Small things a client notices: a POST without Accept is refused like one with the wrong
Accept; a cached tool's invalid-arguments result carries no cache status; and
``completion/complete`` is answered exactly when ``capabilities.completions`` says so."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from edgemcp import EdgeMCP

MODERN = "2026-07-28"
HANDSHAKE = "2025-11-25"
ACCEPT = "application/json, text/event-stream"
META = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}
INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": HANDSHAKE, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}


def build(completer: bool) -> EdgeMCP:
    app = EdgeMCP("details", secret="s", audit=False)

    @app.tool(cache_ttl=60, cache_scope="public")
    def double(n: int) -> int:
        return 2 * n

    @app.prompt()
    def greet(name: str) -> str:
        return f"Hello {name}"

    if completer:
        @app.completion(prompt="greet")
        def names(argument: str, value: str, context: dict[str, Any]) -> list[str]:
            return [n for n in ("Ana", "Bo") if n.startswith(value)]

    return app


async def client_for(app: EdgeMCP) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app.asgi()), base_url="http://localhost") as c:
        yield c


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async for c in client_for(build(completer=False)):
        yield c


async def modern(client: httpx.AsyncClient, method: str, params: dict[str, Any], name: str | None = None
                 ) -> httpx.Response:
    headers = {"accept": ACCEPT, "mcp-protocol-version": MODERN, "mcp-method": method}
    if name is not None:
        headers["mcp-name"] = name
    return await client.post("/mcp", headers=headers,
                             json={"jsonrpc": "2.0", "id": 1, "method": method, "params": {**params, "_meta": META}})


async def handshake(client: httpx.AsyncClient, method: str, params: dict[str, Any]) -> httpx.Response:
    opened = await client.post("/mcp", headers={"accept": ACCEPT}, json=INITIALIZE)
    session = opened.headers["mcp-session-id"]
    return await client.post("/mcp", headers={"accept": ACCEPT, "mcp-session-id": session,
                                              "mcp-protocol-version": HANDSHAKE},
                             json={"jsonrpc": "2.0", "id": 2, "method": method, "params": params})


# ----- Accept -------------------------------------------------------------------------------


@pytest.mark.parametrize(("accept", "status"), [
    (None, 406),                              # no Accept at all
    ("application/json", 406),                # one of the two
    ("text/html", 406),
    (ACCEPT, 200),
    ("*/*", 200),                             # anything, as HTTP reads it (curl's default)
])
async def test_a_post_without_the_right_accept_is_406(client: httpx.AsyncClient, accept: str | None,
                                                       status: int) -> None:
    del client.headers["accept"]  # httpx sends */* unless told otherwise
    headers = {"content-type": "application/json"} | ({"accept": accept} if accept is not None else {})
    response = await client.post("/mcp", headers=headers, json=INITIALIZE)
    if accept is None:
        assert "accept" not in response.request.headers
    assert response.status_code == status
    if status == 406:
        assert response.json()["error"]["code"] == -32600


# ----- the cache status of a result whose arguments failed validation ------------------------


async def test_invalid_arguments_carry_no_cache_status(client: httpx.AsyncClient) -> None:
    invalid = (await modern(client, "tools/call", {"name": "double", "arguments": {"n": "x"}}, "double")).json()
    assert invalid["result"]["isError"] is True
    assert "dev.edgemcp/cache" not in invalid["result"]["_meta"]
    assert invalid["result"]["ttlMs"] == 0  # and nothing for the client to keep
    valid = (await modern(client, "tools/call", {"name": "double", "arguments": {"n": 2}}, "double")).json()
    assert valid["result"]["_meta"]["dev.edgemcp/cache"] == "miss"
    again = (await handshake(client, "tools/call", {"name": "double", "arguments": {}})).json()
    assert again["result"]["isError"] is True
    assert "dev.edgemcp/cache" not in again["result"].get("_meta", {})


# ----- completion/complete: answered when advertised, and only then ----------------------------


COMPLETE = {"ref": {"type": "ref/prompt", "name": "greet"}, "argument": {"name": "name", "value": "A"}}


async def test_completions_are_not_advertised_and_not_answered_without_a_completer(
        client: httpx.AsyncClient) -> None:
    discovered = (await modern(client, "server/discover", {})).json()["result"]
    assert "completions" not in discovered["capabilities"]
    refused = await modern(client, "completion/complete", COMPLETE)
    assert (refused.status_code, refused.json()["error"]["code"]) == (404, -32601)
    initialized = (await client.post("/mcp", headers={"accept": ACCEPT}, json=INITIALIZE)).json()
    assert "completions" not in initialized["result"]["capabilities"]
    legacy = await handshake(client, "completion/complete", COMPLETE)
    assert (legacy.status_code, legacy.json()["error"]["code"]) == (200, -32601)


async def test_completions_are_advertised_and_answered_with_a_completer() -> None:
    async for client in client_for(build(completer=True)):
        discovered = (await modern(client, "server/discover", {})).json()["result"]
        assert discovered["capabilities"]["completions"] == {}
        answered = (await modern(client, "completion/complete", COMPLETE)).json()
        assert answered["result"]["completion"]["values"] == ["Ana"]
        legacy = (await handshake(client, "completion/complete", COMPLETE)).json()
        assert legacy["result"]["completion"]["values"] == ["Ana"]
