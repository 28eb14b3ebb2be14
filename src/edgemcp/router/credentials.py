"""How the router identifies itself to an upstream: a static bearer token, or OAuth 2.1
client credentials (a token fetched from the authorization server and kept in the store
until shortly before it expires). Never the client's own token: the MCP spec forbids
passing it through, and the upstream's audience is not the router's."""

import time
from typing import Any, Protocol

import httpx

from ..store import Keyspace

REFRESH_MARGIN = 30.0  # seconds before expiry a cached token is replaced


class Credentials(Protocol):
    async def headers(self, http: httpx.AsyncClient, keyspace: Keyspace) -> dict[str, str]: ...


class BearerToken:
    def __init__(self, token: str) -> None:
        self._header = {"authorization": f"Bearer {token}"}

    async def headers(self, http: httpx.AsyncClient, keyspace: Keyspace) -> dict[str, str]:
        return self._header

    def __repr__(self) -> str:
        return "BearerToken(…)"  # never the token


class ClientCredentials:
    """RFC 6749 §4.4 against ``token_url``; ``resource`` (RFC 8707) names the upstream."""

    def __init__(self, *, token_url: str, client_id: str, client_secret: str, scope: str | None = None,
                 resource: str | None = None, cache_key: str) -> None:
        self.token_url = token_url
        self.auth = (client_id, client_secret)
        self.form = {"grant_type": "client_credentials",
                     **({"scope": scope} if scope else {}), **({"resource": resource} if resource else {})}
        self.cache_key = f"upstream-token:{cache_key}"

    async def headers(self, http: httpx.AsyncClient, keyspace: Keyspace) -> dict[str, str]:
        cached = await keyspace.get(self.cache_key)
        if isinstance(cached, dict) and cached.get("expires", 0) - REFRESH_MARGIN > time.time():
            return {"authorization": f"Bearer {cached['token']}"}
        response = await http.post(self.token_url, data=self.form, auth=self.auth,
                                   headers={"accept": "application/json"})
        response.raise_for_status()
        grant: dict[str, Any] = response.json()
        token, lifetime = grant.get("access_token"), grant.get("expires_in", 300)
        if not isinstance(token, str) or not isinstance(lifetime, int | float):
            raise httpx.DecodingError("the token endpoint's answer has no access_token")
        await keyspace.set(self.cache_key, {"token": token, "expires": time.time() + lifetime}, lifetime)
        return {"authorization": f"Bearer {token}"}

    def __repr__(self) -> str:
        return f"ClientCredentials({self.token_url!r}, client_id={self.auth[0]!r})"
