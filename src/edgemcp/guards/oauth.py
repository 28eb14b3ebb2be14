"""OAuth 2.1 resource server: access tokens checked on every request.

``OAuthResource`` serves the RFC 9728 protected-resource metadata and turns a bearer token
into a ``Principal`` with a pluggable verifier: ``JWTVerifier`` (signature against the
issuer's JWKS, fetched with httpx and cached in the store; issuer, audience per RFC 8707,
expiry) or ``IntrospectionVerifier`` (RFC 7662, for opaque tokens). Needs the ``oauth``
extra: ``pip install 'edgemcp[oauth]'``.
"""

import contextlib
import hashlib
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from ..protocol.errors import INTERNAL_ERROR, ErrorKind, MCPError, forbidden
from ..protocol.principal import Principal
from ..store import Keyspace, StoreError
from .identity import HTTPRequest, bearer_token, unauthenticated


@contextlib.asynccontextmanager
async def _authorization_server(
    shared: httpx.AsyncClient | None, unavailable: str
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for one call to the authorization server (the shared one if given);
    any failure to reach it becomes a 503 the client may retry."""
    client = shared or httpx.AsyncClient(timeout=5.0)
    try:
        yield client
    except (httpx.HTTPError, ValueError):
        raise MCPError(INTERNAL_ERROR, unavailable, kind=ErrorKind.UNAVAILABLE) from None
    finally:
        if shared is None:
            await client.aclose()


class TokenVerifier(Protocol):
    async def verify(self, token: str, keyspace: Keyspace | None) -> Principal: ...


def _scopes(claims: dict[str, Any]) -> frozenset[str]:
    scope = claims.get("scope", claims.get("scp", ""))
    return frozenset(scope.split() if isinstance(scope, str) else scope or ())


def _principal(claims: dict[str, Any], tenant_claim: str) -> Principal:
    subject = str(claims.get("sub", ""))
    agent = str(claims.get("client_id") or claims.get("azp") or subject)
    return Principal(agent_id=agent, subject=subject, tenant=str(claims.get(tenant_claim, "")),
                     scopes=_scopes(claims))


class JWTVerifier:
    """JWT access tokens: signature (JWKS), ``iss``, ``aud``, ``exp`` (and ``nbf``)."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_uri: str,
        algorithms: Sequence[str] = ("RS256", "ES256", "PS256", "EdDSA"),
        leeway: float = 30.0,
        jwks_ttl: float = 300.0,
        tenant_claim: str = "tenant",
        http: httpx.AsyncClient | None = None,
    ) -> None:
        import jwt  # the optional extra: fail at configuration, not at the first request

        self._jwt = jwt
        self.issuer = issuer
        self.audience = audience
        self.jwks_uri = jwks_uri
        self.algorithms = list(algorithms)
        self.leeway = leeway
        self.jwks_ttl = jwks_ttl
        self.tenant_claim = tenant_claim
        self._http = http

    async def _fetch_jwks(self) -> dict[str, Any]:
        async with _authorization_server(self._http, "Authorization server keys unavailable") as client:
            response = await client.get(self.jwks_uri, headers={"accept": "application/json"})
            response.raise_for_status()
            jwks: dict[str, Any] = response.json()
        return jwks

    async def _keys(self, keyspace: Keyspace | None, refresh: bool) -> dict[str, Any]:
        cache_key = "jwks:" + hashlib.sha256(self.jwks_uri.encode()).hexdigest()[:24]
        if keyspace is not None and not refresh:
            try:
                cached = await keyspace.get(cache_key)
            except StoreError:
                cached = None
            if isinstance(cached, dict):
                return cached
        jwks = await self._fetch_jwks()
        if keyspace is not None:
            with contextlib.suppress(StoreError):  # caching is an optimisation: verify anyway
                await keyspace.set(cache_key, jwks, self.jwks_ttl)
        return jwks

    def _key_for(self, jwks: dict[str, Any], kid: str | None) -> Any:
        for entry in jwks.get("keys", []):
            if kid is None or entry.get("kid") == kid:
                return self._jwt.PyJWK.from_dict(entry)
        return None

    async def verify(self, token: str, keyspace: Keyspace | None) -> Principal:
        jwt = self._jwt
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise unauthenticated("malformed token") from None
        kid = header.get("kid")
        key = self._key_for(await self._keys(keyspace, refresh=False), kid)
        if key is None:  # keys may have rotated since we cached them
            key = self._key_for(await self._keys(keyspace, refresh=True), kid)
        if key is None:
            raise unauthenticated("token signed by an unknown key")
        try:
            claims = jwt.decode(
                token, key=key, algorithms=self.algorithms, audience=self.audience,
                issuer=self.issuer, leeway=self.leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise unauthenticated("token expired") from None
        except jwt.InvalidAudienceError:
            raise unauthenticated("token is not meant for this resource") from None
        except jwt.InvalidIssuerError:
            raise unauthenticated("token from an untrusted issuer") from None
        except jwt.PyJWTError:
            raise unauthenticated("token failed verification") from None
        return _principal(claims, self.tenant_claim)


class IntrospectionVerifier:
    """Opaque tokens, asked of the authorization server (RFC 7662). Active results are
    cached in the store (by token digest) until expiry, for at most ``cache_ttl``."""

    def __init__(
        self,
        *,
        endpoint: str,
        audience: str,
        client_id: str,
        client_secret: str,
        cache_ttl: float = 60.0,
        tenant_claim: str = "tenant",
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.audience = audience
        self.auth = (client_id, client_secret)
        self.cache_ttl = cache_ttl
        self.tenant_claim = tenant_claim
        self._http = http

    async def verify(self, token: str, keyspace: Keyspace | None) -> Principal:
        cache_key = "introspect:" + hashlib.sha256(token.encode()).hexdigest()
        claims = await keyspace.get(cache_key) if keyspace is not None else None
        if not isinstance(claims, dict):
            async with _authorization_server(self._http, "Token introspection unavailable") as client:
                response = await client.post(self.endpoint, data={"token": token}, auth=self.auth)
                response.raise_for_status()
                claims = response.json()
        if not claims.get("active"):
            raise unauthenticated("token inactive")
        exp = claims.get("exp")
        if isinstance(exp, int | float) and exp < time.time():
            raise unauthenticated("token expired")
        audience = claims.get("aud")
        audiences = [audience] if isinstance(audience, str) else list(audience or [])
        if self.audience not in audiences:
            raise unauthenticated("token is not meant for this resource")
        if keyspace is not None:
            ttl = self.cache_ttl if not isinstance(exp, int | float) else min(self.cache_ttl, exp - time.time())
            if ttl > 0:
                await keyspace.set(cache_key, claims, ttl)
        return _principal(claims, self.tenant_claim)


class OAuthResource:
    """This MCP server as an OAuth 2.1 protected resource.

    ``resource`` is the server's canonical URL (``https://mcp.example.com/mcp``): the
    audience tokens must carry and the ``resource`` in the metadata document.
    """

    def __init__(
        self,
        *,
        resource: str,
        authorization_servers: Sequence[str],
        verifier: TokenVerifier,
        scopes_supported: Sequence[str] = (),
    ) -> None:
        self.resource = resource.rstrip("/")
        self.authorization_servers = list(authorization_servers)
        self.verifier = verifier
        self.scopes_supported = list(scopes_supported)
        self.keyspace: Keyspace | None = None
        parts = urlsplit(self.resource)
        self.metadata_path = "/.well-known/oauth-protected-resource" + parts.path
        self.metadata_url = f"{parts.scheme}://{parts.netloc}{self.metadata_path}"

    def bind(self, keyspace: Keyspace) -> None:
        self.keyspace = keyspace

    def metadata(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "resource": self.resource,
            "authorization_servers": self.authorization_servers,
            "bearer_methods_supported": ["header"],
        }
        if self.scopes_supported:
            document["scopes_supported"] = self.scopes_supported
        return document

    def challenge(self, **params: str) -> str:
        fields = [f'resource_metadata="{self.metadata_url}"']
        fields += [f'{name}="{value}"' for name, value in params.items()]
        return "Bearer " + ", ".join(fields)

    async def authenticate(self, request: HTTPRequest) -> Principal | None:
        token = bearer_token(request)
        if token is None:
            return None
        try:
            return await self.verifier.verify(token, self.keyspace)
        except MCPError as exc:
            if exc.kind is ErrorKind.UNAUTHENTICATED:
                description = exc.message.removeprefix("Unauthorized: ")
                exc.challenge = self.challenge(error="invalid_token", error_description=description)
            raise

    def insufficient_scope(self, needed: Sequence[str], tool: str) -> MCPError:
        scope = " ".join(needed)
        return forbidden(f"Forbidden: tool '{tool}' needs scope {scope}", {"requiredScopes": list(needed)},
                         self.challenge(error="insufficient_scope", scope=scope))
