"""How the router identifies itself to an upstream: a static bearer token, or OAuth 2.1
client credentials (a token fetched from the authorization server and kept in the store
until shortly before it expires). Never the client's own token: the MCP spec forbids
passing it through, and the upstream's audience is not the router's."""

import base64
import time
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from ..jsoncodec import loads
from ..store import Keyspace
from .outbound import Outbound

REFRESH_MARGIN = 30.0  # seconds before expiry a cached token is replaced


class Credentials(Protocol):
    async def headers(self, http: Outbound, keyspace: Keyspace) -> dict[str, str]: ...


class BearerToken:
    def __init__(self, token: str) -> None:
        self._header = {"authorization": f"Bearer {token}"}

    async def headers(self, http: Outbound, keyspace: Keyspace) -> dict[str, str]:
        return self._header

    def __repr__(self) -> str:
        return "BearerToken(…)"  # never the token


class ClientCredentials:
    """RFC 6749 §4.4 against ``token_url``; ``resource`` (RFC 8707) names the upstream."""

    def __init__(self, *, token_url: str, client_id: str, client_secret: str, scope: str | None = None,
                 resource: str | None = None, cache_key: str) -> None:
        self.token_url = token_url
        self.client_id = client_id
        # RFC 6749 §2.3.1: the client's id and secret, form-encoded, as HTTP Basic credentials.
        pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}".encode()
        self._basic = "Basic " + base64.b64encode(pair).decode("ascii")
        self.form = {"grant_type": "client_credentials",
                     **({"scope": scope} if scope else {}), **({"resource": resource} if resource else {})}
        self.cache_key = f"upstream-token:{cache_key}"

    async def headers(self, http: Outbound, keyspace: Keyspace) -> dict[str, str]:
        cached = await keyspace.get(self.cache_key)
        if isinstance(cached, dict) and cached.get("expires", 0) - REFRESH_MARGIN > time.time():
            return {"authorization": f"Bearer {cached['token']}"}
        response = await http.post(self.token_url, {
            "content-type": "application/x-www-form-urlencoded", "accept": "application/json",
            "authorization": self._basic}, urlencode(self.form).encode())
        try:
            raw = await response.read()
        finally:
            await response.aclose()
        grant: Any = loads(raw) if response.status == 200 else None
        token = grant.get("access_token") if isinstance(grant, dict) else None
        lifetime = grant.get("expires_in", 300) if isinstance(grant, dict) else None
        if not isinstance(token, str) or not isinstance(lifetime, int | float):
            raise ValueError(f"the token endpoint answered {response.status} without an access_token")
        await keyspace.set(self.cache_key, {"token": token, "expires": time.time() + lifetime}, lifetime)
        return {"authorization": f"Bearer {token}"}

    def __repr__(self) -> str:
        return f"ClientCredentials({self.token_url!r}, client_id={self.client_id!r})"
