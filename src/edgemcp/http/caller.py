"""Who is calling and what the HTTP edge knows of the request: the one place a
``RequestInfo`` is built, for either era."""

from typing import Any

from ..guards.hop import VIA_HEADER
from ..guards.identity import HTTPRequest, Identity
from ..protocol.errors import ErrorKind, MCPError, ServiceUnavailable, unavailable
from ..protocol.principal import ANONYMOUS, Principal
from ..protocol.request import RequestInfo
from ..protocol.versions import Era
from .wire import Headers, Refusal


async def identify(identity: Identity, headers: Headers, request_id: Any = None) -> Principal:
    """The caller's principal, or a refusal (401, 403, or 503 when the store is down)."""
    if not identity.enabled:
        return ANONYMOUS
    try:
        return await identity.principal(HTTPRequest(headers.values, headers.client, headers.scope))
    except MCPError as exc:
        # An authenticator that refuses without saying how still refuses: 401.
        raise Refusal(exc, request_id, status=401 if exc.kind is ErrorKind.ANSWER else None) from None
    except ServiceUnavailable:
        raise Refusal(unavailable(), request_id) from None


def request_info(headers: Headers, era: Era, protocol_version: str, *,
                 capabilities: dict[str, Any] | None = None, client_info: dict[str, Any] | None = None,
                 log_level: str | None = None, principal: Principal = ANONYMOUS,
                 session_id: str | None = None, correlation_id: str | None = None) -> RequestInfo:
    return RequestInfo(
        era, protocol_version, capabilities if capabilities is not None else {}, client_info, log_level,
        principal, session_id,
        cache_bypass="no-cache" in (headers.get("cache-control") or ""),
        client=headers.address,
        idempotency_key=headers.get("idempotency-key"),
        correlation_id=correlation_id,
        via=via(headers) if VIA_HEADER in headers.values else (),
    )


def via(headers: Headers) -> tuple[str, ...]:
    value = headers.get(VIA_HEADER)
    return tuple(part.strip() for part in value.split(",") if part.strip()) if value else ()


def holder(principal: Principal, headers: Headers) -> str:
    """Whom per-principal limits count: the principal, or the client's address when
    anonymous (forwarded by a trusted proxy, else the TCP peer's)."""
    return principal.key if principal.authenticated else f"ip:{headers.address or '?'}"
