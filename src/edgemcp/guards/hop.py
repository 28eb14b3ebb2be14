"""What travels on a hop between deployments of one app (edge → core): who the caller is,
as a short-lived signed assertion, never the caller's own token.

The edge has already authenticated the caller with its guards. It sends the Principal as an
assertion signed with a key both deployments hold (derived from ``EDGEMCP_SECRET``, or
``EDGEMCP_HOP_SECRET`` when set), bound to an audience (the core deployment of this app)
and to a short lifetime. The core accepts it in place of its own authentication and
refuses one that is tampered, expired or meant for another deployment (401).
"""

import hashlib
import hmac

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..protocol.errors import MCPError, unauthenticated
from ..protocol.principal import Principal
from .identity import HTTPRequest

ASSERTION_HEADER = "edgemcp-assertion"
# The forwarding deployments a request already passed through, comma-separated: a loop
# (an edge whose core URL points back at itself, two routers naming each other) is
# refused instead of going round until something times out.
VIA_HEADER = "edgemcp-via"
MAX_HOPS = 8
CHALLENGE = 'EdgeMCP-Assertion realm="core"'
DEFAULT_TTL = 60  # seconds: long enough for clock skew and a retry, short for a replay


def core_audience(app_name: str) -> str:
    """Who an edge's assertions are meant for: the core deployment of this app."""
    return f"edgemcp:{app_name}:core"


class HopSigner:
    def __init__(self, secret: str | bytes, audience: str, ttl: int = DEFAULT_TTL) -> None:
        key = hmac.digest(secret.encode() if isinstance(secret, str) else secret, b"edgemcp.hop", hashlib.sha256)
        self._serializer = URLSafeTimedSerializer(key, salt="edgemcp.hop.assertion")
        self.audience = audience
        self.ttl = ttl

    def sign(self, principal: Principal) -> str:
        return self._serializer.dumps({
            "aud": self.audience,
            "p": [principal.agent_id, principal.subject, principal.tenant, sorted(principal.scopes)],
        })

    def verify(self, token: str) -> Principal:
        """The principal the edge asserted, or an unauthenticated error saying why not."""
        try:
            claims = self._serializer.loads(token, max_age=int(self.ttl))
        except SignatureExpired:
            raise _refused("the identity assertion has expired") from None
        except BadSignature:
            raise _refused("the identity assertion failed verification") from None
        if not isinstance(claims, dict) or claims.get("aud") != self.audience:
            raise _refused("the identity assertion is meant for another deployment")
        fields = claims.get("p")
        if not isinstance(fields, list) or len(fields) != 4 or not isinstance(fields[3], list):
            raise _refused("the identity assertion is malformed")
        agent, subject, tenant, scopes = fields
        return Principal(agent_id=str(agent), subject=str(subject), tenant=str(tenant),
                         scopes=frozenset(str(s) for s in scopes))


def _refused(description: str) -> MCPError:
    return unauthenticated(description, CHALLENGE)


class HopAssertions:
    """An authenticator for the core deployment: the edge's assertion, when one comes."""

    def __init__(self, signer: HopSigner) -> None:
        self.signer = signer

    async def authenticate(self, request: HTTPRequest) -> Principal | None:
        token = request.headers.get(ASSERTION_HEADER)
        return None if token is None else self.signer.verify(token)


def hop_id(app_name: str, role: str, secret: str | bytes) -> str:
    """This deployment's name on the hop: the same on every replica, unguessable elsewhere."""
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, f"edgemcp.via:{app_name}:{role}".encode(), hashlib.sha256).hexdigest()[:16]
