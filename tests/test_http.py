"""HTTP behaviour of the ASGI app, in process (httpx's ASGI transport): status codes,
headers and JSON-RPC errors for good and bad input in both eras."""

import json
from typing import Any

import httpx
import pytest

from edgemcp import EdgeMCP, ToolError

MODERN = "2026-07-28"
ACCEPT = "application/json, text/event-stream"


def make_app(**options: Any) -> EdgeMCP:
    app = EdgeMCP("http-test", version="1.2.3", secret="s3cret", **options)

    @app.tool(read_only=True)
    def add(a: int, b: int) -> int:
        """Adds two integers."""
        return a + b

    @app.tool()
    def explode(secret_value: str) -> str:
        raise RuntimeError(f"database password is hunter2 and the argument was {secret_value}")

    @app.tool()
    def refuse() -> str:
        raise ToolError("not today")

    @app.resource("notes://{id}", mime_type="text/plain")
    def note(id: str) -> str:
        return f"note {id}"

    return app


@pytest.fixture
def client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=make_app().asgi())
    return httpx.AsyncClient(transport=transport, base_url="http://localhost")


def meta(**extra: Any) -> dict[str, Any]:
    return {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {},
        **extra,
    }


def modern_headers(method: str, name: str | None = None, **extra: str) -> dict[str, str]:
    headers = {"accept": ACCEPT, "content-type": "application/json",
               "mcp-protocol-version": MODERN, "mcp-method": method}
    if name is not None:
        headers["mcp-name"] = name
    headers.update(extra)
    return headers


async def modern(client: httpx.AsyncClient, method: str, params: dict[str, Any] | None = None,
                 *, name: str | None = None, request_id: Any = 1, **headers: str) -> httpx.Response:
    body = {"jsonrpc": "2.0", "id": request_id, "method": method,
            "params": {"_meta": meta(), **(params or {})}}
    return await client.post("/mcp", json=body, headers=modern_headers(method, name, **headers))


async def initialize(client: httpx.AsyncClient, version: str = "2025-11-25") -> str:
    response = await client.post("/mcp", headers={"accept": ACCEPT}, json={
        "jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": version, "capabilities": {},
                   "clientInfo": {"name": "t", "version": "1"}},
    })
    assert response.status_code == 200
    return response.headers["mcp-session-id"]


async def handshake(client: httpx.AsyncClient, session: str, method: str,
                    params: dict[str, Any] | None = None, request_id: Any = 5) -> httpx.Response:
    return await client.post("/mcp", json={
        "jsonrpc": "2.0", "id": request_id, "method": method, "params": params or {},
    }, headers={"accept": ACCEPT, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25"})


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert "result" not in body
    error: dict[str, Any] = body["error"]
    return error


# ----- modern era: the happy path ----------------------------------------------------------


async def test_modern_call_returns_structured_result(client: httpx.AsyncClient) -> None:
    response = await modern(client, "tools/call", {"name": "add", "arguments": {"a": 2, "b": 3}},
                            name="add")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    result = response.json()["result"]
    assert result["structuredContent"] == {"result": 5}
    assert result["content"] == [{"type": "text", "text": '{"result": 5}'}]
    assert result["resultType"] == "complete"
    assert result["_meta"]["io.modelcontextprotocol/serverInfo"] == {"name": "http-test", "version": "1.2.3"}


async def test_discover_lists_versions_capabilities_and_cache_hints(client: httpx.AsyncClient) -> None:
    result = (await modern(client, "server/discover")).json()["result"]
    assert result["supportedVersions"][0] == MODERN
    assert "2025-11-25" in result["supportedVersions"]
    assert "tools" in result["capabilities"]
    assert result["ttlMs"] == 0 and result["cacheScope"] == "public"


async def test_tools_list_shows_schema_annotations_and_meta(client: httpx.AsyncClient) -> None:
    result = (await modern(client, "tools/list")).json()["result"]
    tools = {t["name"]: t for t in result["tools"]}
    assert tools["add"]["inputSchema"]["properties"] == {
        "a": {"type": "integer"}, "b": {"type": "integer"}}
    assert tools["add"]["outputSchema"]["properties"]["result"] == {"type": "integer"}
    assert tools["add"]["annotations"]["readOnlyHint"] is True
    # Undeclared tools are destructive and open-world, as the spec says.
    assert tools["explode"]["annotations"]["destructiveHint"] is True
    assert tools["explode"]["annotations"]["openWorldHint"] is True
    assert tools["add"]["_meta"]["dev.edgemcp/placement"] == "any"
    assert "ttlMs" in result and "cacheScope" in result


# ----- modern era: validation --------------------------------------------------------------


async def test_missing_meta_is_invalid_params_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/mcp", headers=modern_headers("tools/list"), json={
        "jsonrpc": "2.0", "id": 1, "method": "tools/list",
        "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": MODERN}}})
    assert response.status_code == 400
    assert error_of(response)["code"] == -32602


async def test_unsupported_version_lists_supported(client: httpx.AsyncClient) -> None:
    response = await client.post("/mcp", headers=modern_headers("tools/list", **{"mcp-protocol-version": "1900-01-01"}),
                                 json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {
                                     "_meta": meta(**{"io.modelcontextprotocol/protocolVersion": "1900-01-01"})}})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == -32022
    assert error["data"]["requested"] == "1900-01-01"
    assert MODERN in error["data"]["supported"]


@pytest.mark.parametrize(
    ("headers", "fragment"),
    [
        ({"mcp-method": "tools/list"}, "Mcp-Method"),
        ({"mcp-name": "other"}, "Mcp-Name"),
        ({"mcp-protocol-version": "2025-11-25"}, "MCP-Protocol-Version"),
    ],
)
async def test_header_mismatch_is_32020(client: httpx.AsyncClient, headers: dict[str, str], fragment: str) -> None:
    response = await modern(client, "tools/call", {"name": "add", "arguments": {"a": 1, "b": 1}},
                            name="add", **headers)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == -32020
    assert fragment in error["message"]
    assert response.json()["id"] == 1


async def test_missing_mcp_name_is_rejected(client: httpx.AsyncClient) -> None:
    response = await modern(client, "tools/call", {"name": "add", "arguments": {"a": 1, "b": 1}})
    assert response.status_code == 400
    assert error_of(response)["code"] == -32020


async def test_base64_mcp_name_is_decoded(client: httpx.AsyncClient) -> None:
    response = await modern(client, "resources/read", {"uri": "notes://é"}, name="=?base64?bm90ZXM6Ly/DqQ==?=")
    assert response.status_code == 200
    assert response.json()["result"]["contents"][0]["text"] == "note é"


@pytest.mark.parametrize("method", ["initialize", "ping", "logging/setLevel", "no/such/method"])
async def test_removed_or_unknown_methods_are_404(client: httpx.AsyncClient, method: str) -> None:
    response = await modern(client, method, {"level": "info"})
    assert response.status_code == 404
    assert error_of(response)["code"] == -32601


async def test_unknown_tool_is_invalid_params(client: httpx.AsyncClient) -> None:
    response = await modern(client, "tools/call", {"name": "nope"}, name="nope")
    assert error_of(response)["code"] == -32602


async def test_invalid_arguments_are_a_tool_error_the_model_can_read(client: httpx.AsyncClient) -> None:
    response = await modern(client, "tools/call", {"name": "add", "arguments": {"a": "x"}}, name="add")
    result = response.json()["result"]
    assert result["isError"] is True
    message = result["content"][0]["text"]
    assert "a: Input should be a valid integer" in message
    assert "b: Field required" in message


async def test_raising_tool_gives_sanitized_error(client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    response = await modern(client, "tools/call", {"name": "explode", "arguments": {"secret_value": "MARKER-123"}},
                            name="explode")
    assert response.status_code == 200
    result = response.json()["result"]
    assert result["isError"] is True
    assert "hunter2" not in response.text and "MARKER-123" not in response.text
    assert "Traceback" not in response.text
    assert "MARKER-123" not in caplog.text and "hunter2" not in caplog.text


async def test_tool_error_message_is_passed_through(client: httpx.AsyncClient) -> None:
    result = (await modern(client, "tools/call", {"name": "refuse"}, name="refuse")).json()["result"]
    assert result == {"content": [{"type": "text", "text": "not today"}], "isError": True,
                      "resultType": "complete", "_meta": result["_meta"]}


async def test_unknown_resource_is_invalid_params_with_uri(client: httpx.AsyncClient) -> None:
    response = await modern(client, "resources/read", {"uri": "nothing://here"}, name="nothing://here")
    error = error_of(response)
    assert error["code"] == -32602
    assert error["data"] == {"uri": "nothing://here"}


async def test_get_is_405_in_modern_era(client: httpx.AsyncClient) -> None:
    response = await client.get("/mcp", headers={"accept": "text/event-stream", "mcp-protocol-version": MODERN})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["error"]["code"] == -32600


async def test_notification_is_accepted_with_202(client: httpx.AsyncClient) -> None:
    response = await client.post("/mcp", headers=modern_headers("notifications/initialized"), json={
        "jsonrpc": "2.0", "method": "notifications/initialized", "params": {"_meta": meta()}})
    assert response.status_code == 202
    assert response.content == b""


# ----- malformed input (either era) --------------------------------------------------------


async def test_malformed_json_is_parse_error(client: httpx.AsyncClient) -> None:
    response = await client.post("/mcp", content=b'{"jsonrpc": "2.0", "id": 1,',
                                 headers=modern_headers("tools/list"))
    assert response.status_code == 400
    assert error_of(response)["code"] == -32700
    assert response.json()["id"] is None


async def test_batch_is_rejected(client: httpx.AsyncClient) -> None:
    response = await client.post("/mcp", json=[{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}],
                                 headers=modern_headers("tools/list"))
    assert response.status_code == 400
    assert error_of(response)["code"] == -32600


@pytest.mark.parametrize("params", [[1, 2], "text", 5])
async def test_non_object_params_are_invalid(client: httpx.AsyncClient, params: Any) -> None:
    response = await client.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": params},
                                 headers=modern_headers("tools/list"))
    assert response.status_code == 400
    assert error_of(response)["code"] == -32602


@pytest.mark.parametrize("body", [{"id": 1, "method": "tools/list"}, {"jsonrpc": "2.0", "id": 1, "method": 7},
                                  {"jsonrpc": "2.0", "id": None, "method": "tools/list"}, "just a string"])
async def test_not_a_jsonrpc_request(client: httpx.AsyncClient, body: Any) -> None:
    response = await client.post("/mcp", json=body, headers=modern_headers("tools/list"))
    assert response.status_code == 400
    assert error_of(response)["code"] == -32600


async def test_wrong_accept_is_406(client: httpx.AsyncClient) -> None:
    headers = modern_headers("tools/list", accept="application/json")
    response = await client.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, headers=headers)
    assert response.status_code == 406


async def test_wrong_content_type_is_415(client: httpx.AsyncClient) -> None:
    headers = modern_headers("tools/list", **{"content-type": "text/plain"})
    response = await client.post("/mcp", content=b"{}", headers=headers)
    assert response.status_code == 415


async def test_oversized_body_is_413() -> None:
    app = make_app(max_body_size=1000)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app.asgi()), base_url="http://localhost") as client:
        response = await modern(client, "tools/call", {"name": "add", "arguments": {"pad": "x" * 2000}}, name="add")
    assert response.status_code == 413
    assert error_of(response)["code"] == -32600


async def test_deeply_nested_body_is_rejected(client: httpx.AsyncClient) -> None:
    nested = "[" * 5000 + "]" * 5000
    body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":' + nested + "}}}"
    response = await client.post("/mcp", content=body.encode(), headers=modern_headers("tools/call", "add"))
    assert response.status_code == 400
    assert error_of(response)["code"] == -32600
    assert "nested" in error_of(response)["message"]


async def test_brackets_inside_strings_do_not_count_as_depth(client: httpx.AsyncClient) -> None:
    response = await modern(client, "tools/call", {"name": "explode", "arguments": {"secret_value": "[" * 500}},
                            name="explode")
    assert response.status_code == 200


# ----- Host and Origin -----------------------------------------------------------------------


async def test_foreign_host_is_forbidden() -> None:
    transport = httpx.ASGITransport(app=make_app().asgi())
    async with httpx.AsyncClient(transport=transport, base_url="http://evil.example") as client:
        response = await modern(client, "tools/list")
    assert response.status_code == 403


async def test_foreign_origin_is_forbidden(client: httpx.AsyncClient) -> None:
    response = await modern(client, "tools/list", origin="http://evil.example")
    assert response.status_code == 403
    assert (await modern(client, "tools/list", origin="http://localhost:3000")).status_code == 200


async def test_configured_hosts_and_origins() -> None:
    app = make_app(allowed_hosts=["mcp.example.com"], allowed_origins=["https://app.example.com"])
    transport = httpx.ASGITransport(app=app.asgi())
    async with httpx.AsyncClient(transport=transport, base_url="https://mcp.example.com") as client:
        assert (await modern(client, "tools/list", origin="https://app.example.com")).status_code == 200
        assert (await modern(client, "tools/list", origin="http://localhost")).status_code == 403
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        assert (await modern(client, "tools/list")).status_code == 403


# ----- handshake era ---------------------------------------------------------------------------


async def test_initialize_negotiates_and_mints_signed_session(client: httpx.AsyncClient) -> None:
    session = await initialize(client, "2025-06-18")
    assert "." in session  # value.signature
    response = await handshake(client, session, "tools/call", {"name": "add", "arguments": {"a": 1, "b": 2}})
    result = response.json()["result"]
    assert result["structuredContent"] == {"result": 3}
    assert "resultType" not in result  # a modern-only field


async def test_unknown_protocol_version_in_initialize_gets_latest(client: httpx.AsyncClient) -> None:
    response = await client.post("/mcp", headers={"accept": ACCEPT}, json={
        "jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2099-01-01", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
    assert response.json()["result"]["protocolVersion"] == "2025-11-25"


async def test_request_without_session_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                                 headers={"accept": ACCEPT})
    assert response.status_code == 400


async def test_tampered_session_id_is_404(client: httpx.AsyncClient) -> None:
    session = await initialize(client)
    raw, _, signature = session.partition(".")
    forged = ("0" if raw[0] != "0" else "1") + raw[1:] + "." + signature
    assert (await handshake(client, forged, "tools/list")).status_code == 404
    assert (await handshake(client, "garbage", "tools/list")).status_code == 404


async def test_delete_ends_the_session(client: httpx.AsyncClient) -> None:
    session = await initialize(client)
    assert (await handshake(client, session, "ping")).json()["result"] == {}
    deleted = await client.delete("/mcp", headers={"mcp-session-id": session})
    assert deleted.status_code == 200
    assert (await handshake(client, session, "ping")).status_code == 404


async def test_server_discover_is_unknown_in_handshake_era(client: httpx.AsyncClient) -> None:
    session = await initialize(client)
    assert error_of(await handshake(client, session, "server/discover"))["code"] == -32601


async def test_client_notification_gets_202(client: httpx.AsyncClient) -> None:
    session = await initialize(client)
    response = await client.post("/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"},
                                 headers={"accept": ACCEPT, "mcp-session-id": session})
    assert response.status_code == 202


async def test_invalid_cursor_is_invalid_params(client: httpx.AsyncClient) -> None:
    session = await initialize(client)
    response = await handshake(client, session, "tools/list", {"cursor": "not-a-cursor"})
    assert error_of(response)["code"] == -32602


async def test_pagination_walks_every_tool() -> None:
    app = EdgeMCP("paged", secret="s", page_size=2)
    for index in range(5):
        app.tool(name=f"t{index}")(lambda: "x")
    transport = httpx.ASGITransport(app=app.asgi())
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        names: list[str] = []
        cursor = None
        for _ in range(5):
            result = (await modern(client, "tools/list", {"cursor": cursor} if cursor else {})).json()["result"]
            names += [t["name"] for t in result["tools"]]
            cursor = result.get("nextCursor")
            if cursor is None:
                break
    assert names == ["t0", "t1", "t2", "t3", "t4"]


def test_error_bodies_are_json_not_tracebacks() -> None:
    # The error helper output is plain JSON-RPC: checked once here for its shape.
    from edgemcp.protocol.errors import unsupported_version

    error = unsupported_version("x", ("a",)).to_error()
    assert json.loads(json.dumps(error)) == {
        "code": -32022, "message": "Unsupported protocol version",
        "data": {"supported": ["a"], "requested": "x"}}


async def test_tampered_session_id_never_reaches_the_store() -> None:
    from edgemcp.store import MemoryStore

    class CountingStore(MemoryStore):
        reads = 0

        async def get(self, key: str) -> bytes | None:
            CountingStore.reads += 1
            return await super().get(key)

    app = make_app()
    app.configure(store=CountingStore())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app.asgi()), base_url="http://localhost") as client:
        session = await initialize(client)
        before = CountingStore.reads
        assert (await handshake(client, session[:-2] + "xx", "ping")).status_code == 404
        assert CountingStore.reads == before
        assert (await handshake(client, session, "ping")).status_code == 200
        assert CountingStore.reads == before + 1
