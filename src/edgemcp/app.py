"""``EdgeMCP``: the registry of tools, resources and prompts, and its configuration."""

import inspect
import logging
import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from .audit import AuditLog, AuditSink, LoggingSink, Summary, derive_key
from .cache import ResultCache
from .guards import Authenticator, Guards
from .guards.ratelimit import Rate
from .mailbox import Mailbox
from .principal import HTTPRequest, Identify, Principal
from .prompts import Prompt
from .request_state import RequestStateSealer
from .resources import Resource, ResourceTemplate, is_template
from .sessions import Sessions
from .store import Capabilities, Keyspace, Store, open_store
from .telemetry import Telemetry
from .tools import CacheScope, Placement, Tool

if TYPE_CHECKING:
    from .transport import ASGIApp

log = logging.getLogger("edgemcp")
F = TypeVar("F", bound=Callable[..., Any])
Completer = Callable[[str, str, dict[str, Any]], Any]

DEFAULT_MAX_BODY = 4 * 1024 * 1024


class _Callable:
    """A plain function used as an authenticator."""

    def __init__(self, fn: Identify) -> None:
        self.fn = fn

    async def authenticate(self, request: HTTPRequest) -> Principal | None:
        found = self.fn(request)
        if inspect.isawaitable(found):
            found = await found
        return found if isinstance(found, Principal) else None


class ConfigurationError(Exception):
    """The app's configuration cannot work (for example, a store lacking a capability)."""


@dataclass(slots=True)
class Runtime:
    """What the app builds on its first request rather than at import time: a Worker's
    memory snapshot must not contain entropy, and a secret may come from the platform."""

    store: Store
    keyspace: Keyspace
    sessions: Sessions
    sealer: RequestStateSealer
    mailbox: Mailbox
    cache: ResultCache
    guards: Guards
    audit: AuditLog | None


class EdgeMCP:
    """An MCP server. Decorate functions to expose them, then serve ``app.asgi()``.

    ``store`` is a Store or a URL (default ``$EDGEMCP_STORE`` or ``memory://``); ``secret``
    signs session ids and sealed request state (default ``$EDGEMCP_SECRET``; without one a
    random secret is made, which is fine for one dev process only).
    """

    def __init__(
        self,
        name: str,
        version: str = "0.1.0",
        *,
        instructions: str | None = None,
        title: str | None = None,
        store: Store | str | None = None,
        secret: str | bytes | None = None,
        allowed_hosts: list[str] | None = None,
        allowed_origins: list[str] | None = None,
        max_body_size: int = DEFAULT_MAX_BODY,
        max_depth: int = 64,
        list_ttl: float = 0.0,
        page_size: int = 100,
        session_ttl: float = 3600.0,
        request_state_ttl: float = 900.0,
        reply_timeout: float = 300.0,
        auth: "Authenticator | Identify | Sequence[Authenticator | Identify] | None" = None,
        auth_required: bool | None = None,
        rate_limit: "str | Rate | None" = None,
        kill_switch_refresh: float = 1.0,
        idempotency_ttl: float = 86400.0,
        telemetry: Telemetry | bool = True,
        audit: AuditSink | bool = True,
    ) -> None:
        self.name = name
        self.version = version
        self.instructions = instructions
        self.server_info: dict[str, Any] = {"name": name, "version": version}
        if title:
            self.server_info["title"] = title
        self.tools: dict[str, Tool] = {}
        self.resources: dict[str, Resource] = {}
        self.templates: list[ResourceTemplate] = []
        self.prompts: dict[str, Prompt] = {}
        self.completers: dict[tuple[str, str], Completer] = {}
        self.allowed_hosts = allowed_hosts
        self.allowed_origins = allowed_origins
        self.max_body_size = max_body_size
        self.max_depth = max_depth
        self.list_ttl_ms = int(list_ttl * 1000)
        self.page_size = page_size
        self.session_ttl = session_ttl
        self.request_state_ttl = request_state_ttl
        self.reply_timeout = reply_timeout
        given = [] if auth is None else list(auth) if isinstance(auth, Sequence) else [auth]
        self.authenticators: list[Any] = [a if hasattr(a, "authenticate") else _Callable(a) for a in given]
        self.auth_required = bool(given) if auth_required is None else auth_required
        self.oauth = next((a for a in self.authenticators if hasattr(a, "metadata")), None)
        self.agent_rate = Rate.parse(rate_limit) if rate_limit is not None else None
        self.kill_switch_refresh = kill_switch_refresh
        self.idempotency_ttl = idempotency_ttl
        # OpenTelemetry spans and metrics, when opentelemetry-api is installed and an SDK
        # provider is set; ``False`` turns them off.
        self.telemetry = telemetry if isinstance(telemetry, Telemetry) else Telemetry(enabled=telemetry)
        # The audit log: JSON lines on stdout (logger "edgemcp.audit") unless given a sink;
        # ``False`` turns it off.
        self._audit_sink: AuditSink | None = (
            None if audit is False else LoggingSink() if audit is True else audit)
        self._store = store
        self._secret = secret
        self._runtime: Runtime | None = None
        self._default_asgi: ASGIApp | None = None
        self._requirements: list[tuple[str, Callable[[Capabilities], bool], str]] = []

    # -- registration --------------------------------------------------------------------
    @overload
    def tool(self, fn: F) -> F: ...
    @overload
    def tool(
        self,
        *,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        cache_ttl: float | None = None,
        cache_scope: CacheScope = "private",
        placement: Placement = "any",
        read_only: bool | None = None,
        destructive: bool | None = None,
        idempotent: bool | None = None,
        open_world: bool | None = None,
        structured_output: bool | None = None,
        input_schema: dict[str, Any] | None = None,
        scopes: Sequence[str] = (),
        rate_limit: "str | Rate | None" = None,
        dry_run: bool = False,
        icons: list[dict[str, Any]] | None = None,
        meta: dict[str, Any] | None = None,
        audit: "dict[str, Summary] | None" = None,
    ) -> Callable[[F], F]: ...
    def tool(self, fn: Any = None, **options: Any) -> Any:
        """Expose a function as a tool. Its type hints become the input schema.

        ``cache_ttl`` (seconds) and ``cache_scope`` say how long a result stays fresh and
        whether it may be shared across callers; ``placement`` says whether the tool can
        run at the edge; the hints mirror MCP's tool annotations. ``scopes`` are required
        of the caller, ``rate_limit`` ("5/minute", per agent; ``Rate(..., per="tool")`` for
        one budget shared by all) protects the tool, and ``dry_run=True`` says the tool
        honours ``ctx.dry_run``. ``audit`` maps argument names to what the audit log may
        show of them ("keep", "length", "last4", "type", "fingerprint", or a function);
        by default it shows only a keyed fingerprint of all arguments.
        """

        def register(f: F) -> F:
            tool = Tool(f, **options)
            if tool.name in self.tools:
                raise ValueError(f"a tool named {tool.name!r} is already registered")
            self.tools[tool.name] = tool
            return f

        return register(fn) if fn is not None else register

    def resource(
        self,
        uri: str,
        *,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        mime_type: str | None = None,
        cache_ttl: float | None = None,
        cache_scope: CacheScope = "private",
        meta: dict[str, Any] | None = None,
    ) -> Callable[[F], F]:
        """Expose a function as a resource at ``uri``, or at every URI a template like
        ``notes://{id}`` matches (the variables become keyword arguments)."""
        options: dict[str, Any] = {"name": name, "title": title, "description": description,
                   "mime_type": mime_type, "cache_ttl": cache_ttl, "cache_scope": cache_scope,
                   "meta": meta}

        def register(f: F) -> F:
            if is_template(uri):
                self.templates.append(ResourceTemplate(f, uri, **options))
            else:
                self.resources[uri] = Resource(f, uri, **options)
            return f

        return register

    @overload
    def prompt(self, fn: F) -> F: ...
    @overload
    def prompt(
        self, *, name: str | None = None, title: str | None = None,
        description: str | None = None, meta: dict[str, Any] | None = None,
    ) -> Callable[[F], F]: ...
    def prompt(self, fn: Any = None, **options: Any) -> Any:
        """Expose a function returning messages (or a string) as a prompt."""

        def register(f: F) -> F:
            prompt = Prompt(f, **options)
            self.prompts[prompt.name] = prompt
            return f

        return register(fn) if fn is not None else register

    def completion(
        self, *, prompt: str | None = None, resource: str | None = None
    ) -> Callable[[F], F]:
        """Complete arguments of a prompt, or variables of a resource template.

        The function gets ``(argument_name, partial_value, other_arguments)`` and returns
        a list of suggestions (sync or async).
        """
        if (prompt is None) == (resource is None):
            raise ValueError("give exactly one of prompt= or resource=")
        key = ("ref/prompt", prompt) if prompt is not None else ("ref/resource", resource)

        def register(f: F) -> F:
            self.completers[key] = f  # type: ignore[index]
            return f

        return register

    def find_resource(self, uri: str) -> tuple[Resource, dict[str, str]] | None:
        resource = self.resources.get(uri)
        if resource is not None:
            return resource, {}
        for template in self.templates:
            variables = template.match(uri)
            if variables is not None:
                return template, variables
        return None

    # -- change notifications ------------------------------------------------------------
    async def notify_list_changed(self, kind: Literal["tools", "prompts", "resources"]) -> None:
        """Tell listening clients (``subscriptions/listen``) that a list changed."""
        await self.runtime.keyspace.publish("changes", {"kind": kind})

    async def notify_resource_updated(self, uri: str) -> None:
        await self.runtime.keyspace.publish("changes", {"kind": "resource", "uri": uri})

    def require_store(
        self, feature: str, needs: str, check: Callable[[Capabilities], bool]
    ) -> None:
        """Declare that ``feature`` needs a store capability. A store without it is refused
        when the app starts (ASGI lifespan) or, without lifespan, at the first request."""
        self._requirements.append((feature, check, needs))

    # -- serving -------------------------------------------------------------------------
    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            self._runtime = self._build_runtime()
        return self._runtime

    def configure(self, *, store: Store | str | None = None, secret: str | bytes | None = None) -> None:
        """Set the store or secret after construction (for platforms that hand them over
        at request time, such as a Worker's env). Takes effect before the first request."""
        if store is not None:
            self._store = store
        if secret is not None:
            self._secret = secret
        self._runtime = None

    def _build_runtime(self) -> Runtime:
        store = self._store or os.environ.get("EDGEMCP_STORE") or "memory://"
        if isinstance(store, str):
            store = open_store(store)
        secret = self._secret or os.environ.get("EDGEMCP_SECRET")
        if not secret:
            secret = secrets.token_urlsafe(32)
            log.warning(
                "edgemcp: no EDGEMCP_SECRET set; generated a random one. Sessions and "
                "request state will not survive a restart or work across replicas."
            )
        requirements = list(self._requirements)
        if self.agent_rate is not None or any(t.rate is not None for t in self.tools.values()):
            requirements.append((
                "rate limiting", lambda c: c.atomic and c.consistency == "strong",
                "atomic operations on a strongly consistent store (Redis, or the Durable Object store)",
            ))
        for feature, check, needs in requirements:
            if not check(store.capabilities):
                raise ConfigurationError(
                    f"{feature} needs {needs}, but the configured store "
                    f"({type(store).__name__}) offers {store.capabilities}"
                )
        keyspace = Keyspace(store, self.name)
        if self.telemetry.available:
            from .store.traced import TracedStore

            def trace_store() -> None:  # once an SDK is set: no cost per store call before
                keyspace.store = TracedStore(keyspace.store, self.telemetry)

            self.telemetry.when_active(trace_store)
        for authenticator in self.authenticators:
            if hasattr(authenticator, "bind"):
                authenticator.bind(keyspace)
        return Runtime(
            store=store,
            keyspace=keyspace,
            sessions=Sessions(keyspace, secret, self.session_ttl),
            sealer=RequestStateSealer(secret, self.request_state_ttl),
            mailbox=Mailbox(keyspace),
            cache=ResultCache(keyspace),
            guards=Guards(keyspace, agent_rate=self.agent_rate,
                          kill_switch_refresh=self.kill_switch_refresh,
                          idempotency_ttl=self.idempotency_ttl, oauth=self.oauth),
            audit=AuditLog(self._audit_sink, derive_key(secret)) if self._audit_sink is not None else None,
        )

    def asgi(self, path: str = "/mcp") -> "ASGIApp":
        """The ASGI application serving this server at ``path``."""
        from .transport import StreamableHTTP

        return StreamableHTTP(self, path)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """The app is itself an ASGI app serving ``/mcp``: ``uvicorn module:app`` works."""
        if self._default_asgi is None:
            self._default_asgi = self.asgi()
        await self._default_asgi(scope, receive, send)
