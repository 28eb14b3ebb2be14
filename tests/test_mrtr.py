"""Multi round-trip requests (2026-07-28): input_required results, sealed requestState,
and the refusals that keep a state from being tampered with or replayed elsewhere."""

from typing import Any

import httpx
import pytest

from edgemcp import Context, EdgeMCP, MCPError
from edgemcp.protocol.mrtr import request_digest
from edgemcp.state import RequestStateSealer

from .test_http import meta, modern_headers

ALL_INPUTS = {"elicitation": {}, "sampling": {}, "roots": {}}
FORM = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}


def make_app() -> EdgeMCP:
    app = EdgeMCP("mrtr", secret="k1")

    @app.tool()
    async def greet(ctx: Context, punctuation: str = "!") -> str:
        ctx.state.setdefault("round", 0)
        ctx.state["round"] += 1
        first = await ctx.elicit("Name?", FORM, key="name")
        second = await ctx.sample("Greeting?", max_tokens=10, key="greeting")
        return f"{second['content']['text']}, {first['content']['name']}{punctuation} (rounds={ctx.state['round']})"

    @app.prompt()
    async def framed(ctx: Context) -> str:
        topic = await ctx.elicit("Topic?", {"type": "object", "properties": {"t": {"type": "string"}}}, key="topic")
        return f"Write about {topic['content']['t']}"

    return app


async def call(client: httpx.AsyncClient, params: dict[str, Any], capabilities: dict[str, Any] | None = None,
               request_id: int = 1, method: str = "tools/call") -> httpx.Response:
    body_meta = meta(**{"io.modelcontextprotocol/clientCapabilities": ALL_INPUTS if capabilities is None else capabilities})
    return await client.post("/mcp", headers=modern_headers(method, params["name"]), json={
        "jsonrpc": "2.0", "id": request_id, "method": method, "params": {"_meta": body_meta, **params}})


@pytest.fixture
def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app().asgi()), base_url="http://localhost")


async def test_rounds_until_every_input_is_answered(client: httpx.AsyncClient) -> None:
    first = (await call(client, {"name": "greet", "arguments": {}})).json()["result"]
    assert first["resultType"] == "input_required"
    assert first["inputRequests"] == {"name": {"method": "elicitation/create", "params": {
        "mode": "form", "message": "Name?", "requestedSchema": FORM}}}
    assert "ttlMs" not in first  # interim results carry no caching hints

    second = (await call(client, {
        "name": "greet", "arguments": {}, "requestState": first["requestState"],
        "inputResponses": {"name": {"action": "accept", "content": {"name": "Ada"}}}}, request_id=2)).json()["result"]
    assert second["resultType"] == "input_required"
    assert list(second["inputRequests"]) == ["greeting"]
    assert second["inputRequests"]["greeting"]["params"]["maxTokens"] == 10

    # Only the newest answer is sent: the first one travels inside requestState.
    final = (await call(client, {
        "name": "greet", "arguments": {}, "requestState": second["requestState"],
        "inputResponses": {"greeting": {"role": "assistant", "content": {"type": "text", "text": "Hello"}}}},
        request_id=3)).json()["result"]
    assert final["resultType"] == "complete"
    assert final["content"][0]["text"] == "Hello, Ada! (rounds=3)"


async def test_missing_answer_asks_again(client: httpx.AsyncClient) -> None:
    first = (await call(client, {"name": "greet", "arguments": {}})).json()["result"]
    again = (await call(client, {"name": "greet", "arguments": {}, "requestState": first["requestState"],
                                 "inputResponses": {"unrelated": {}}}, request_id=2)).json()["result"]
    assert again["resultType"] == "input_required"
    assert list(again["inputRequests"]) == ["name"]


async def test_tampered_state_is_rejected(client: httpx.AsyncClient) -> None:
    first = (await call(client, {"name": "greet", "arguments": {}})).json()["result"]
    state = first["requestState"]
    tampered = state[:-3] + ("AAA" if not state.endswith("AAA") else "BBB")
    response = await call(client, {"name": "greet", "arguments": {}, "requestState": tampered,
                                   "inputResponses": {"name": {"action": "accept", "content": {"name": "x"}}}})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == -32602
    assert "verification" in error["message"]


async def test_state_for_other_arguments_is_rejected(client: httpx.AsyncClient) -> None:
    first = (await call(client, {"name": "greet", "arguments": {}})).json()["result"]
    response = await call(client, {"name": "greet", "arguments": {"punctuation": "?"},
                                   "requestState": first["requestState"]})
    assert response.json()["error"]["message"] == "requestState belongs to a different request"


async def test_state_from_another_server_secret_is_rejected() -> None:
    other = RequestStateSealer("another-secret").seal("//", request_digest("tools/call", "greet", {}), {}, {})
    transport = httpx.ASGITransport(app=make_app().asgi())
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        response = await call(client, {"name": "greet", "arguments": {}, "requestState": other})
    assert response.json()["error"]["code"] == -32602


def test_sealer_binds_principal_and_expiry() -> None:
    sealer = RequestStateSealer("k")
    token = sealer.seal("tenant/alice/", "digest", {"a": 1}, {"s": 2})
    assert sealer.unseal(token, "tenant/alice/", "digest") == ({"a": 1}, {"s": 2})
    with pytest.raises(MCPError, match="another principal"):
        sealer.unseal(token, "tenant/mallory/", "digest")
    with pytest.raises(MCPError, match="expired"):
        RequestStateSealer("k", max_age=-1).unseal(token, "tenant/alice/", "digest")
    with pytest.raises(MCPError, match="must be a string"):
        sealer.unseal(42, "tenant/alice/", "digest")


async def test_undeclared_capability_is_32021(client: httpx.AsyncClient) -> None:
    response = await call(client, {"name": "greet", "arguments": {}}, capabilities={"sampling": {}})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == -32021
    assert error["data"] == {"requiredCapabilities": {"elicitation": {}}}


async def test_prompts_get_supports_input_required(client: httpx.AsyncClient) -> None:
    first = (await call(client, {"name": "framed"}, method="prompts/get")).json()["result"]
    assert first["resultType"] == "input_required"
    final = (await call(client, {"name": "framed", "requestState": first["requestState"],
                                 "inputResponses": {"topic": {"action": "accept", "content": {"t": "owls"}}}},
                        method="prompts/get", request_id=2)).json()["result"]
    assert final["messages"][0]["content"]["text"] == "Write about owls"
