"""Behind a load balancer: ``Forwarded`` (RFC 7239) and ``X-Forwarded-*`` are honoured only
from configured trusted proxies (guards/proxies.py), for the Host check and for the client
address that per-address limits count. In process: httpx's ASGI transport sets the TCP peer."""

from typing import Any

import httpx
import pytest

from edgemcp import Context, EdgeMCP
from edgemcp.guards.proxies import TrustedProxies, node_address, parse_forwarded, parse_networks

ACCEPT = "application/json, text/event-stream"
PROXY = "10.0.0.7"  # in the trusted block below
STRANGER = "203.0.113.9"


def make_app(**options: Any) -> EdgeMCP:
    options.setdefault("trusted_proxies", ["10.0.0.0/8", "2001:db8:1::/48"])
    app = EdgeMCP("proxied", secret="s3cret", allowed_hosts=["mcp.example.com"], **options)

    @app.tool()
    def whoami(ctx: Context) -> str:
        """The client address the server sees."""
        return str(ctx.request.client)

    return app


def client_from(app: EdgeMCP, peer: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app.asgi(), client=(peer, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://internal-lb:8000")


INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}


def whoami_call() -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "whoami", "arguments": {}, "_meta": {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}}}


async def post(client: httpx.AsyncClient, body: dict[str, Any], **headers: str) -> httpx.Response:
    base = {"accept": ACCEPT, "content-type": "application/json"}
    if body["method"] == "tools/call":
        base |= {"mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "whoami"}
    return await client.post("/mcp", json=body, headers={**base, **headers})


def text_of(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return str(response.json()["result"]["content"][0]["text"])


async def test_a_trusted_proxy_s_forwarded_host_passes_the_host_check() -> None:
    async with client_from(make_app(), PROXY) as client:
        # The balancer's own Host (an internal name) is not allowed; what it forwards is.
        assert (await post(client, INITIALIZE)).status_code == 403
        assert (await post(client, INITIALIZE, **{"x-forwarded-host": "mcp.example.com"})).status_code == 200
        assert (await post(client, INITIALIZE, forwarded='for=198.51.100.7;host=mcp.example.com;proto=https')
                ).status_code == 200
        # A forwarded host that is not allowed is refused like any other.
        refused = await post(client, INITIALIZE, **{"x-forwarded-host": "evil.example"})
        assert refused.status_code == 403
        assert refused.json()["error"]["message"] == "Forbidden: Host header not allowed"


async def test_an_untrusted_peer_s_forwarded_headers_are_ignored() -> None:
    async with client_from(make_app(), STRANGER) as client:
        # DNS rebinding through a forged header: the Host check still applies to the real Host.
        for forged in ({"x-forwarded-host": "mcp.example.com"}, {"forwarded": "host=mcp.example.com"}):
            refused = await post(client, INITIALIZE, **forged)
            assert refused.status_code == 403, forged
        # With an allowed Host, a forged forwarded host changes nothing, and neither does a
        # forged client address.
        allowed = {"host": "mcp.example.com"}
        assert (await post(client, INITIALIZE, **allowed, **{"x-forwarded-host": "evil.example"})).status_code == 200
        answer = await post(client, whoami_call(), **allowed, **{"x-forwarded-for": "198.51.100.7"})
        assert text_of(answer) == STRANGER


async def test_without_trusted_proxies_nothing_forwarded_is_read() -> None:
    async with client_from(make_app(trusted_proxies=None), PROXY) as client:
        assert (await post(client, INITIALIZE, **{"x-forwarded-host": "mcp.example.com"})).status_code == 403
        answer = await post(client, whoami_call(), host="mcp.example.com", **{"x-forwarded-for": "198.51.100.7"})
        assert text_of(answer) == PROXY


async def test_the_client_address_comes_from_the_trusted_chain_only() -> None:
    app = make_app()
    async with client_from(app, PROXY) as client:
        host = {"host": "mcp.example.com"}
        said = await post(client, whoami_call(), **host, **{"x-forwarded-for": "198.51.100.7"})
        assert text_of(said) == "198.51.100.7"
        # What the client wrote itself sits left of what the proxies appended: never read.
        # Here 10.9.9.9 is a second trusted proxy, 198.51.100.7 the client, 6.6.6.6 forged.
        chain = await post(client, whoami_call(), **host, **{"x-forwarded-for": "6.6.6.6, 198.51.100.7, 10.9.9.9"})
        assert text_of(chain) == "198.51.100.7"
        rfc = await post(client, whoami_call(), **host, forwarded='for=6.6.6.6, for="[2001:db8:cafe::17]:4711"')
        assert text_of(rfc) == "2001:db8:cafe::17"


async def test_anonymous_session_limits_count_the_forwarded_address() -> None:
    app = make_app(session_rate="1/minute")
    host = {"x-forwarded-host": "mcp.example.com"}
    async with client_from(app, PROXY) as client:
        first = await post(client, INITIALIZE, **host, **{"x-forwarded-for": "198.51.100.1"})
        assert first.status_code == 200
        again = await post(client, INITIALIZE, **host, **{"x-forwarded-for": "198.51.100.1"})
        assert again.status_code == 429 and again.json()["error"]["code"] == -31429
        other = await post(client, INITIALIZE, **host, **{"x-forwarded-for": "198.51.100.2"})
        assert other.status_code == 200  # another client behind the same balancer
    async with client_from(app, STRANGER) as client:
        allowed = {"host": "mcp.example.com"}
        assert (await post(client, INITIALIZE, **allowed, **{"x-forwarded-for": "1.1.1.1"})).status_code == 200
        # A forged address does not buy an untrusted peer a new budget.
        forged = await post(client, INITIALIZE, **allowed, **{"x-forwarded-for": "2.2.2.2"})
        assert forged.status_code == 429


def test_trusted_proxies_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEMCP_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.1")
    app = EdgeMCP("env-proxies", secret="s3cret", allowed_hosts=["mcp.example.com"])
    proxies = app.start().proxies
    assert proxies is not None and proxies.trusts("192.0.2.1") and proxies.trusts("10.3.2.1")
    assert not proxies.trusts("192.0.2.2")


def test_a_malformed_proxy_fails_at_construction() -> None:
    with pytest.raises(ValueError, match=r"trusted proxy 'ten\.0\.0\.1'"):
        EdgeMCP("bad", trusted_proxies=["ten.0.0.1"])


def test_forwarded_parsing() -> None:
    assert parse_forwarded('for="_gazonk"') == [{"for": "_gazonk"}]
    assert parse_forwarded('For="[2001:db8:cafe::17]:4711";proto=https, for=192.0.2.43:80;host="a.example"') == [
        {"for": "[2001:db8:cafe::17]:4711", "proto": "https"}, {"for": "192.0.2.43:80", "host": "a.example"}]
    assert parse_forwarded('for="a,b";host=x') == [{"for": "a,b", "host": "x"}]  # a comma inside quotes
    assert node_address("[2001:db8:cafe::17]:4711") == "2001:db8:cafe::17"
    assert node_address("192.0.2.43:80") == "192.0.2.43"
    assert node_address("2001:db8::1") == "2001:db8::1"
    assert node_address("unknown") is None
    proxies = TrustedProxies(parse_networks(["10.0.0.0/8"]))
    # A trusted proxy that says for=unknown: the client's address is not known.
    found = proxies.resolve({"forwarded": "for=unknown;host=mcp.example.com"}, "10.0.0.1")
    assert found is not None and found.host == "mcp.example.com" and found.client is None
    assert proxies.resolve({"forwarded": "host=mcp.example.com"}, "11.0.0.1") is None
