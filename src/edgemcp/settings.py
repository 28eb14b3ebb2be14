"""An app's server-wide options: the keyword arguments of ``EdgeMCP(...)`` that are not
about what it serves."""

from dataclasses import dataclass
from typing import Literal

from .registry.policy import Rate

Role = Literal["all", "edge", "core"]

DEFAULT_MAX_BODY = 4 * 1024 * 1024
# New sessions per principal (or address when anonymous): 50 a second, bursts of 500. Generous
# because many honest clients can share one address (a NAT, or a load balancer whose forwarding
# headers are not trusted) and the official conformance suite alone opens about 70 in 4 s; still
# tight enough that one flooding address cannot fill the store.
DEFAULT_SESSION_RATE = Rate(500, 10.0)
DEFAULT_STORE_TIMEOUT = 2.0


@dataclass(slots=True)
class Settings:
    allowed_hosts: list[str] | None = None  # None: $EDGEMCP_ALLOWED_HOSTS, else loopback only
    allowed_origins: list[str] | None = None
    max_body_size: int = DEFAULT_MAX_BODY
    max_depth: int = 64
    session_ttl: float = 3600.0
    request_state_ttl: float = 900.0
    reply_timeout: float = 300.0  # how long a call waits for the client's reply
    rate_limit: Rate | None = None  # per agent, across tools
    kill_switch_refresh: float = 1.0
    idempotency_ttl: float = 86400.0
    idempotency_lease: float = 10.0  # a running call's claim on its key lapses this long after its replica died
    # Split deployment (None: $EDGEMCP_ROLE, $EDGEMCP_CORE_URL, $EDGEMCP_HOP_SECRET). "edge"
    # forwards what is placed on the core to ``core_url``; "core" accepts the edge's
    # identity assertions, signed with ``hop_secret`` (default: derived from the app secret).
    role: Role | None = None
    core_url: str | None = None
    hop_secret: str | None = None
    core_timeout: float = 30.0  # seconds an edge waits for the core (upstream silence, not the user)
    max_pending_tasks: int = 100  # per principal: unfinished tasks (the tasks extension)
    task_lease: float = 10.0  # seconds a task's runner may go silent before it counts as dead
    # Handshake-era SSE streams (GET, and resumable POST responses): see state/events.py.
    stream_poll_after: float | None = None  # close a stream's connection after this long; None: never
    stream_retry: float = 1.0  # seconds a client waits before it reconnects (the SSE retry field)
    stream_log_length: int = 200  # events kept per stream for Last-Event-ID; 0: no ids, no GET
    stream_log_ttl: float = 300.0  # seconds an event is kept
    max_streams_per_session: int = 8  # GET streams open at once
    max_streams_per_principal: int = 64  # GET and listen streams (per IP when anonymous)
    # Abuse limits (README "Limits under abuse").
    body_timeout: float = 30.0  # seconds for a request's whole body to arrive; then 408
    session_rate: Rate | None = DEFAULT_SESSION_RATE  # initialize per principal, or address when anonymous
    max_pending_client_requests: int = 16  # per session: elicitation/sampling/roots awaiting replies
    store_timeout: float = DEFAULT_STORE_TIMEOUT  # seconds any one store call may take (Redis), then 503
    # Peers (IPs or CIDRs) whose Forwarded / X-Forwarded-* headers are believed; None:
    # $EDGEMCP_TRUSTED_PROXIES, else nobody's.
    trusted_proxies: list[str] | None = None
