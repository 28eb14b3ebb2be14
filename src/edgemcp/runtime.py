"""``Runtime``: what an app builds when it starts, not at import (a Worker's memory snapshot
must hold no entropy, and its secret comes from the platform): the store and every
service over it, handed to the HTTP edge, which hands the core what it needs."""

import logging
import os
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from .guards.cache import ResultCache
from .guards.hop import hop_id
from .guards.idempotency import Idempotency
from .guards.identity import Identity
from .guards.killswitch import KillSwitches
from .guards.proxies import TrustedProxies
from .guards.proxies import from_settings as trusted_proxies
from .guards.ratelimit import RateLimiter, SessionLimiter
from .guards.security import OriginGuard
from .observe.audit import AuditLog, AuditSink, derive_key
from .observe.observation import Observer
from .observe.telemetry import Telemetry
from .pipeline import Pipeline
from .protocol.dispatch import Dispatcher
from .protocol.ports import Catalog
from .registry.policy import Summary
from .registry.registry import Registry
from .registry.source import ToolSource
from .settings import Role, Settings
from .state.events import Events
from .state.leases import Slots, StreamLeases
from .state.mailbox import Mailbox
from .state.request_state import RequestStateSealer
from .state.sessions import Sessions
from .state.tasks import TaskStore
from .store import Capabilities, Keyspace, MemoryStore, Store, open_store
from .tasks.service import TaskService

log = logging.getLogger("edgemcp")

ROLES: tuple[Role, ...] = ("all", "edge", "core")
# A feature's need of the store: (feature, check, what it needs, in words).
Requirement = tuple[str, Callable[[Capabilities], bool], str]
RATE_LIMITS_NEED: Requirement = (
    "rate limiting", lambda c: c.atomic and c.consistency == "strong",
    "atomic operations on a strongly consistent store (Redis, or the Durable Object store)",
)


TASKS_NEED: Requirement = (
    "task support", lambda c: c.atomic and c.consistency == "strong",
    "a strongly consistent store with atomic compare-and-set, so that a task exists the moment "
    "its handle is returned (Redis, or the Durable Object store as EDGEMCP_EXACT_STORE on Workers)",
)


STREAM_LEASE_PERIOD = 15.0  # seconds between an open GET stream's keepalives and lease renewals


class ConfigurationError(Exception):
    """The app's configuration cannot work (for example, a store lacking a capability)."""


@dataclass(slots=True)
class Served:
    """What an app serves, built over the runtime's store and secret: the core's catalog,
    the source of its tools, who may call it, and what to do at start and at shutdown.
    By default the app's own registry; a split app or a gateway serves some of it from
    other servers."""

    catalog: Catalog
    tools: ToolSource
    identity: Identity
    warm_up: Callable[[], Awaitable[None]] | None = None
    close: Callable[[], Awaitable[None]] | None = None


@dataclass(frozen=True, slots=True)
class Foundation:
    """What ``start`` settles before anything is served."""

    name: str
    keyspace: Keyspace
    secret: str | bytes
    role: Role
    hop_id: str


Serve = Callable[[Foundation], Served]


@dataclass(slots=True)
class Runtime:
    settings: Settings
    registry: Registry
    catalog: Catalog
    dispatcher: Dispatcher
    pipeline: Pipeline
    store: Store
    keyspace: Keyspace
    sessions: Sessions
    mailbox: Mailbox
    identity: Identity
    origin_guard: OriginGuard
    observer: Observer
    role: Role = "all"
    hop_id: str = ""
    served: Served | None = field(default=None, repr=False)
    # Handshake-era SSE streams that outlive a connection; None when the store cannot keep
    # their logs (no atomic, strongly consistent operations) or stream_log_length is 0.
    events: Events | None = None
    leases: StreamLeases | None = None
    # Abuse limits (settings.py): open streams above, new sessions, pending client requests.
    session_limiter: SessionLimiter | None = None
    pending: Slots | None = None
    proxies: TrustedProxies | None = None

    async def warm_up(self) -> None:
        """Work to do once the server starts and before it takes requests (a gateway lists
        its upstreams, so a clash of names fails the start)."""
        if self.served is not None and self.served.warm_up is not None:
            await self.served.warm_up()

    async def aclose(self) -> None:
        if self.served is not None and self.served.close is not None:
            await self.served.close()


def start(name: str, settings: Settings, registry: Registry, identity: Identity, telemetry: Telemetry,
          audit_sink: AuditSink | None, *, store: Store | str | None, secret: str | bytes | None,
          requirements: list[Requirement], serve: Serve) -> Runtime:
    """Open the store (``$EDGEMCP_STORE``, else memory) and build everything over it."""
    store = store or os.environ.get("EDGEMCP_STORE") or "memory://"
    if isinstance(store, str):
        store = open_store(store, timeout=settings.store_timeout)
    secret = secret or os.environ.get("EDGEMCP_SECRET")
    if not secret:
        secret = secrets.token_urlsafe(32)
        log.warning(
            "edgemcp: no EDGEMCP_SECRET set; generated a random one. Sessions and "
            "request state will not survive a restart or work across replicas."
        )
    role = settings.role or os.environ.get("EDGEMCP_ROLE") or "all"
    if role not in ROLES:
        raise ConfigurationError(f"EDGEMCP_ROLE={role!r}: expected one of {', '.join(ROLES)}")
    if settings.rate_limit is not None or any(t.rate is not None for t in registry.local_tools):
        requirements = [*requirements, RATE_LIMITS_NEED]
    if registry.has_tasks:
        requirements = [*requirements, TASKS_NEED]
    for feature, check, needs in requirements:
        if not check(store.capabilities):
            raise ConfigurationError(
                f"{feature} needs {needs}, but the configured store "
                f"({type(store).__name__}) offers {store.capabilities}"
            )
    keyspace = Keyspace(store, name)
    if telemetry.available:
        from .observe.traced_store import TracedStore

        def trace_store() -> None:  # once an SDK is set: no cost per store call before
            keyspace.store = TracedStore(keyspace.store, telemetry)

        telemetry.when_active(trace_store)
    identity.bind(keyspace)
    foundation = Foundation(name, keyspace, secret, role, hop_id(name, role, secret))
    served = serve(foundation)
    mailbox = Mailbox(keyspace)
    tasks = TaskService(TaskStore(keyspace, secret, lease=settings.task_lease), mailbox, served.tools,
                        max_pending=settings.max_pending_tasks)
    pipeline = Pipeline(
        served.tools,
        kill_switches=KillSwitches(keyspace, settings.kill_switch_refresh),
        rate_limiter=RateLimiter(keyspace, settings.rate_limit),
        idempotency=Idempotency(keyspace, settings.idempotency_ttl, lease=settings.idempotency_lease),
        cache=ResultCache(keyspace),
        sealer=RequestStateSealer(secret, settings.request_state_ttl),
        tasks=tasks,
        oauth=served.identity.oauth,
    )
    audit = AuditLog(audit_sink, derive_key(secret)) if audit_sink is not None else None

    def summaries(tool: str) -> dict[str, Summary] | None:
        found = registry.local_tools.get(tool)
        return found.audit if found is not None else None

    exact = store.capabilities.atomic and store.capabilities.consistency == "strong"
    events: Events | None = None
    if settings.stream_log_length > 0 and exact:
        events = Events(keyspace, secret, length=settings.stream_log_length, ttl=settings.stream_log_ttl,
                        session_ttl=settings.session_ttl)
    # The abuse limits count in the store, across replicas. A store without atomic
    # operations (Workers KV alone) cannot count: they count per process (per isolate).
    counts = keyspace if exact else Keyspace(MemoryStore(), name)
    if not exact:
        log.info("edgemcp: the store has no atomic operations: new sessions, open streams and pending "
                 "client requests are limited per process")
    leases = StreamLeases(counts, per_session=settings.max_streams_per_session,
                          per_principal=settings.max_streams_per_principal, period=STREAM_LEASE_PERIOD)
    return Runtime(
        settings=settings,
        registry=registry,
        catalog=served.catalog,
        dispatcher=Dispatcher(served.catalog),
        pipeline=pipeline,
        store=store,
        keyspace=keyspace,
        sessions=Sessions(keyspace, secret, settings.session_ttl),
        mailbox=mailbox,
        identity=served.identity,
        origin_guard=OriginGuard(settings.allowed_hosts, settings.allowed_origins),
        observer=Observer(telemetry, audit, summaries),
        role=foundation.role,
        hop_id=foundation.hop_id,
        served=served,
        events=events,
        leases=leases,
        session_limiter=SessionLimiter(counts, settings.session_rate) if settings.session_rate else None,
        pending=Slots(counts, limit=settings.max_pending_client_requests, ttl=settings.reply_timeout + 30),
        proxies=trusted_proxies(settings.trusted_proxies),
    )
