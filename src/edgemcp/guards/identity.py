"""Who is calling: bearer tokens per agent and mutual TLS.

An authenticator returns a ``Principal`` when the request carries its kind of credential,
``None`` when it carries none, and raises ``MCPError`` (401) when the credential is bad.
"""

import hashlib
import hmac
import os
from collections.abc import Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import unquote

from ..errors import UNAUTHENTICATED, MCPError
from ..principal import HTTPRequest, Principal
from ..store import Keyspace


class Authenticator(Protocol):
    async def authenticate(self, request: HTTPRequest) -> Principal | None: ...


def unauthenticated(description: str, challenge: str = 'Bearer error="invalid_token"') -> MCPError:
    return MCPError(UNAUTHENTICATED, f"Unauthorized: {description}", status=401,
                    headers={"www-authenticate": f'{challenge}, error_description="{description}"'})


def bearer_token(request: HTTPRequest) -> str | None:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class BearerTokens:
    """Static bearer tokens, one or more per agent, kept only as SHA-256 digests.

    Tokens can also live in the store (``add``/``revoke``, or ``edgemcp tokens``): those
    take effect on the next request, no redeploy. A token revoked in the store is refused
    even if it is also in the configuration.
    """

    def __init__(
        self,
        tokens: Mapping[str, str | Sequence[str]] | None = None,
        *,
        scopes: Mapping[str, Sequence[str]] | None = None,
        tenant: str = "",
        keyspace: Keyspace | None = None,
    ) -> None:
        self._digests: list[tuple[bytes, str]] = []
        for agent, given in (tokens or {}).items():
            for token in [given] if isinstance(given, str) else given:
                self._digests.append((bytes.fromhex(token_digest(token)), agent))
        self._scopes = {agent: frozenset(s) for agent, s in (scopes or {}).items()}
        self.tenant = tenant
        self.keyspace = keyspace

    @classmethod
    def from_env(cls, name: str = "EDGEMCP_TOKENS", **options: Any) -> "BearerTokens":
        """Tokens from ``agent:token,agent2:token2`` in the environment variable ``name``."""
        pairs: dict[str, list[str]] = {}
        for item in os.environ.get(name, "").split(","):
            agent, sep, token = item.strip().partition(":")
            if sep and agent and token:
                pairs.setdefault(agent, []).append(token)
        return cls(pairs, **options)

    def bind(self, keyspace: Keyspace) -> None:
        if self.keyspace is None:
            self.keyspace = keyspace

    async def authenticate(self, request: HTTPRequest) -> Principal | None:
        token = bearer_token(request)
        if token is None:
            return None
        digest = token_digest(token)
        agent = None
        for known, owner in self._digests:
            # Every comparison runs, in constant time, so timing says nothing about a match.
            if hmac.compare_digest(known, bytes.fromhex(digest)):
                agent = owner
        record = await self.keyspace.get(f"token:{digest}") if self.keyspace is not None else None
        if isinstance(record, dict):
            if record.get("revoked"):
                raise unauthenticated("token revoked")
            agent = agent or record.get("agent")
            scopes = frozenset(record.get("scopes") or ())
        else:
            scopes = self._scopes.get(agent or "", frozenset())
        if agent is None:
            raise unauthenticated("unknown token")
        return Principal(agent_id=agent, subject=agent, tenant=self.tenant, scopes=scopes)

    async def add(self, agent: str, token: str, scopes: Sequence[str] = ()) -> None:
        assert self.keyspace is not None, "add needs a store"
        await self.keyspace.set(f"token:{token_digest(token)}", {"agent": agent, "scopes": list(scopes)})

    async def revoke(self, token: str) -> None:
        assert self.keyspace is not None, "revoke needs a store"
        await self.keyspace.set(f"token:{token_digest(token)}", {"revoked": True})


class MutualTLS:
    """Client-certificate identity, from wherever the TLS handshake was terminated:

    - Cloudflare: ``request.cf.tlsClientAuth`` (the Workers adapter puts ``cf`` in the scope);
    - an ASGI server that terminates TLS itself: the ``tls`` scope extension;
    - a reverse proxy: a header (``header=``) honoured only from ``trusted_proxies``.
    """

    def __init__(
        self,
        *,
        header: str = "x-client-cert-subject",
        trusted_proxies: Sequence[str] = (),
        tenant: str = "",
    ) -> None:
        self.header = header.lower()
        self.trusted = set(trusted_proxies)
        self.tenant = tenant

    async def authenticate(self, request: HTTPRequest) -> Principal | None:
        subject = self._subject(request)
        if not subject:
            return None
        return Principal(agent_id=subject, subject=subject, tenant=self.tenant)

    def _subject(self, request: HTTPRequest) -> str | None:
        cf = request.scope.get("cf")
        if isinstance(cf, Mapping):
            auth = cf.get("tlsClientAuth") or {}
            if auth.get("certPresented") in ("1", 1, True) and auth.get("certVerified") == "SUCCESS":
                return str(auth.get("certSubjectDN") or "") or None
        tls = (request.scope.get("extensions") or {}).get("tls")
        if isinstance(tls, Mapping) and tls.get("client_cert_name"):
            return str(tls["client_cert_name"])
        value = request.headers.get(self.header)
        if value and request.client is not None and request.client[0] in self.trusted:
            return unquote(value)
        return None  # a header from anyone else is ignored, never trusted
