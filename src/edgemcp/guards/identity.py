"""Who is calling: bearer tokens per agent and mutual TLS.

An authenticator returns a ``Principal`` when the request carries its kind of credential,
``None`` when it carries none, and raises ``MCPError`` (401) when the credential is bad.
"""

import hashlib
import hmac
import inspect
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote

from ..protocol import errors
from ..protocol.errors import MCPError
from ..protocol.principal import ANONYMOUS, Principal
from ..store import Keyspace


@dataclass(frozen=True, slots=True)
class HTTPRequest:
    """What an authenticator may look at: headers (lower-case names), the TCP peer, and the
    raw ASGI scope (for the TLS extension, or ``cf`` fields on Cloudflare)."""

    headers: Mapping[str, str]
    client: tuple[str, int] | None
    scope: Mapping[str, Any]


# Given the request, return the caller, or None when it presented no credentials.
# Raise MCPError (unauthenticated, forbidden) to refuse the request. Sync or async.
Identify = Callable[[HTTPRequest], "Principal | Awaitable[Principal | None] | None"]


class Authenticator(Protocol):
    async def authenticate(self, request: HTTPRequest) -> Principal | None: ...


def unauthenticated(description: str, challenge: str = 'Bearer error="invalid_token"') -> MCPError:
    return errors.unauthenticated(description, f'{challenge}, error_description="{description}"')


class FunctionAuthenticator:
    """A plain function (``Identify``) used as an authenticator."""

    def __init__(self, fn: Identify) -> None:
        self.fn = fn

    async def authenticate(self, request: HTTPRequest) -> Principal | None:
        found = self.fn(request)
        if inspect.isawaitable(found):
            found = await found
        return found if isinstance(found, Principal) else None


class Identity:
    """How an app tells who is calling: its authenticators, in order, and whether a caller
    must be identified. With none configured, everyone is anonymous."""

    def __init__(self, given: "Sequence[Authenticator | Identify]", required: bool | None = None) -> None:
        self.authenticators: list[Any] = [
            a if hasattr(a, "authenticate") else FunctionAuthenticator(a) for a in given]
        self.required = bool(given) if required is None else required
        # The OAuth resource, if any: it serves metadata and words the challenges.
        self.oauth: Any = next((a for a in self.authenticators if hasattr(a, "metadata")), None)
        self.challenge = self.oauth.challenge() if self.oauth is not None else 'Bearer realm="mcp"'

    @property
    def enabled(self) -> bool:
        return bool(self.authenticators)

    def bind(self, keyspace: Keyspace) -> None:
        """Give the authenticators that keep state (tokens, JWKS) the app's store."""
        for authenticator in self.authenticators:
            if hasattr(authenticator, "bind"):
                authenticator.bind(keyspace)

    async def principal(self, request: HTTPRequest) -> Principal:
        """The first principal an authenticator recognises; unauthenticated if none does
        and one is required."""
        for authenticator in self.authenticators:
            found = await authenticator.authenticate(request)
            if found is not None:
                return found  # type: ignore[no-any-return]
        if self.required:
            raise errors.unauthenticated("credentials required", self.challenge)
        return ANONYMOUS


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
