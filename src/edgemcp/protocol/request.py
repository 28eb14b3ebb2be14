"""``RequestInfo``: everything the protocol core knows about one request.

The HTTP edge builds it once, when it knows the era, the client's declarations (from the
session or the request's ``_meta``) and the caller; nothing changes it afterwards.
"""

from typing import Any, NamedTuple

from .principal import ANONYMOUS, Principal
from .versions import Era

NONE_DECLARED: dict[str, Any] = {}  # shared, never changed: no capabilities declared


class RequestInfo(NamedTuple):
    """Immutable and cheap to build (a tuple): built once per request on the hot path."""

    era: Era
    protocol_version: str
    client_capabilities: dict[str, Any] = NONE_DECLARED
    client_info: dict[str, Any] | None = None
    log_level: str | None = None
    principal: Principal = ANONYMOUS
    session_id: str | None = None
    cache_bypass: bool = False  # the client asked for a fresh result (Cache-Control: no-cache)
    client: str | None = None  # the peer address, for per-IP limits of anonymous callers
    idempotency_key: str | None = None  # from the Idempotency-Key header
    correlation_id: str | None = None  # the operator's handle on this request (X-Correlation-Id)
    via: tuple[str, ...] = ()  # the routers this request already passed through (loop detection)

    @property
    def modern(self) -> bool:
        return self.era == "modern"
