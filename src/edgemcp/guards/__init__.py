"""Production guards, enforced where the data lives and never left to the model:

identity (bearer tokens, OAuth 2.1, mutual TLS), Host/Origin validation, per-tool scopes,
two-layer rate limits, kill switches, idempotency keys and the result cache. Each is one
module; ``edgemcp.pipeline`` puts the per-call ones in order around a tool call.
"""

from ..registry.policy import Rate
from .cache import ResultCache
from .idempotency import Idempotency
from .identity import (
    Authenticator,
    BearerTokens,
    HTTPRequest,
    Identify,
    Identity,
    MutualTLS,
    unauthenticated,
)
from .killswitch import KillSwitches
from .ratelimit import RateLimiter
from .security import OriginGuard

__all__ = [
    "Authenticator",
    "BearerTokens",
    "HTTPRequest",
    "Idempotency",
    "Identify",
    "Identity",
    "KillSwitches",
    "MutualTLS",
    "OriginGuard",
    "Rate",
    "RateLimiter",
    "ResultCache",
    "unauthenticated",
]
