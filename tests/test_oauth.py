"""OAuth 2.1 resource server: JWT access tokens checked against a JWKS served by a real
local HTTP server (keys generated here), opaque tokens by RFC 7662 introspection, and the
RFC 9728 metadata document."""

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from edgemcp import Context, EdgeMCP
from edgemcp.guards.oauth import IntrospectionVerifier, JWTVerifier, OAuthResource

from .conftest import JSONHandler, serve_http

MODERN = "2026-07-28"
RESOURCE = "http://localhost/mcp"
ISSUER = "https://auth.example.test"


class AuthServer:
    """JWKS and token introspection on 127.0.0.1, as an authorization server would serve them."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = {"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}
        self.active: dict[str, dict[str, Any]] = {}
        self.jwks_fetches = 0
        server = self

        class Handler(JSONHandler):
            def do_GET(self) -> None:
                server.jwks_fetches += 1
                self.reply_json(server.jwks)

            def do_POST(self) -> None:
                form = parse_qs(self.rfile.read(int(self.headers["content-length"])).decode())
                self.reply_json(server.active.get(form["token"][0], {"active": False}))

        self.httpd = serve_http(Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def token(self, **overrides: Any) -> str:
        claims = {"iss": ISSUER, "aud": RESOURCE, "sub": "user-1", "client_id": "agent-7",
                  "tenant": "acme", "scope": "notes:read", "exp": int(time.time()) + 300, **overrides}
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "k1"})


@pytest.fixture(scope="module")
def auth_server() -> Iterator[AuthServer]:
    server = AuthServer()
    yield server
    server.httpd.shutdown()


def build(verifier: Any) -> EdgeMCP:
    resource = OAuthResource(resource=RESOURCE, authorization_servers=[ISSUER], verifier=verifier,
                             scopes_supported=["notes:read", "notes:write"])
    app = EdgeMCP("oauth-test", secret="k", auth=resource)

    @app.tool(scopes=["notes:read"], read_only=True)
    def read_notes(ctx: Context) -> str:
        p = ctx.principal
        return f"{p.agent_id}/{p.subject}/{p.tenant}"

    @app.tool(scopes=["notes:write"])
    def write_note(text: str) -> str:
        return "written"

    return app


async def call(app: EdgeMCP, name: str, token: str | None, arguments: dict[str, Any] | None = None) -> httpx.Response:
    headers = {"accept": "application/json, text/event-stream", "mcp-protocol-version": MODERN,
               "mcp-method": "tools/call", "mcp-name": name}
    if token:
        headers["authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app.asgi()), base_url="http://localhost") as client:
        return await client.post("/mcp", headers=headers, json={
            "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
                "name": name, "arguments": arguments or {},
                "_meta": {"io.modelcontextprotocol/protocolVersion": MODERN,
                          "io.modelcontextprotocol/clientCapabilities": {}}}})


def jwt_app(server: AuthServer) -> EdgeMCP:
    return build(JWTVerifier(issuer=ISSUER, audience=RESOURCE, jwks_uri=server.url + "/jwks"))


async def test_valid_jwt_gives_a_principal(auth_server: AuthServer) -> None:
    response = await call(jwt_app(auth_server), "read_notes", auth_server.token())
    assert response.json()["result"]["content"][0]["text"] == "agent-7/user-1/acme"


@pytest.mark.parametrize(
    ("claims", "description"),
    [
        ({"aud": "https://other.example/mcp"}, "token is not meant for this resource"),
        ({"exp": int(time.time()) - 600}, "token expired"),
        ({"iss": "https://evil.example"}, "token from an untrusted issuer"),
    ],
)
async def test_bad_jwts_are_401_with_a_challenge(auth_server: AuthServer, claims: dict[str, Any], description: str) -> None:
    response = await call(jwt_app(auth_server), "read_notes", auth_server.token(**claims))
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer resource_metadata="http://localhost/.well-known/oauth-protected-resource/mcp"')
    assert 'error="invalid_token"' in challenge
    assert description in challenge
    assert response.json()["error"]["code"] == -31401


async def test_tampered_and_foreign_signatures_are_refused(auth_server: AuthServer) -> None:
    good = auth_server.token()
    header, payload, signature = good.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    assert (await call(jwt_app(auth_server), "read_notes", forged)).status_code == 401
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    foreign = jwt.encode({"iss": ISSUER, "aud": RESOURCE, "exp": int(time.time()) + 60, "sub": "x"},
                         stranger, algorithm="RS256", headers={"kid": "k1"})
    assert (await call(jwt_app(auth_server), "read_notes", foreign)).status_code == 401


async def test_missing_scope_is_403_insufficient_scope(auth_server: AuthServer) -> None:
    response = await call(jwt_app(auth_server), "write_note", auth_server.token(), {"text": "x"})
    assert response.status_code == 403
    challenge = response.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge and 'scope="notes:write"' in challenge
    assert response.json()["error"]["code"] == -31403


async def test_no_token_is_401_pointing_at_the_metadata(auth_server: AuthServer) -> None:
    response = await call(jwt_app(auth_server), "read_notes", None)
    assert response.status_code == 401
    assert "resource_metadata=" in response.headers["www-authenticate"]


async def test_jwks_is_cached_in_the_store(auth_server: AuthServer) -> None:
    app = jwt_app(auth_server)
    before = auth_server.jwks_fetches
    for _ in range(3):
        assert (await call(app, "read_notes", auth_server.token())).status_code == 200
    assert auth_server.jwks_fetches == before + 1


async def test_protected_resource_metadata(auth_server: AuthServer) -> None:
    app = jwt_app(auth_server)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app.asgi()), base_url="http://localhost") as client:
        response = await client.get("/.well-known/oauth-protected-resource/mcp")
    assert response.status_code == 200
    assert response.json() == {"resource": RESOURCE, "authorization_servers": [ISSUER],
                               "bearer_methods_supported": ["header"],
                               "scopes_supported": ["notes:read", "notes:write"]}


async def test_opaque_tokens_by_introspection(auth_server: AuthServer) -> None:
    auth_server.active["opaque-1"] = {"active": True, "sub": "user-9", "client_id": "agent-9",
                                      "aud": RESOURCE, "scope": "notes:read", "exp": int(time.time()) + 60}
    auth_server.active["opaque-elsewhere"] = {"active": True, "sub": "u", "aud": "https://other/mcp",
                                              "scope": "notes:read"}
    app = build(IntrospectionVerifier(endpoint=auth_server.url + "/introspect", audience=RESOURCE,
                                      client_id="rs", client_secret="rs-secret"))
    assert (await call(app, "read_notes", "opaque-1")).json()["result"]["content"][0]["text"] == "agent-9/user-9/"
    assert (await call(app, "read_notes", "opaque-unknown")).status_code == 401
    assert (await call(app, "read_notes", "opaque-elsewhere")).status_code == 401
