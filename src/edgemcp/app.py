"""``EdgeMCP``: what an app serves (its registry) and how (its settings). ``start()`` builds
the runtime once, when it is first needed, and hands it to the HTTP edge."""

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Literal, TypeVar, Unpack, overload

from .guards.identity import Authenticator, Identify, Identity
from .guards.proxies import parse_networks
from .http.asgi import StreamableHTTP
from .observe.audit import AuditSink, LoggingSink
from .observe.telemetry import Telemetry
from .protocol.context import LOG_LEVELS, LogLevel
from .registry.policy import Rate
from .registry.prompts import Prompt, PromptOptions
from .registry.registry import Registry
from .registry.resources import Resource, ResourceOptions, ResourceTemplate, is_template
from .registry.tools import FunctionTool, Tool, ToolOptions
from .runtime import ConfigurationError, Foundation, Requirement, Runtime, Served, start
from .settings import DEFAULT_MAX_BODY, DEFAULT_SESSION_RATE, DEFAULT_STORE_TIMEOUT, Role, Settings
from .state.events import CHANGES
from .store import Capabilities, Store
from .types import ASGIApp, Receive, Scope, Send

__all__ = ["ConfigurationError", "EdgeMCP"]

F = TypeVar("F", bound=Callable[..., Any])


class EdgeMCP:
    """An MCP server. Decorate functions to expose them, then serve ``app.asgi()``.

    ``store`` is a Store or a URL (default ``$EDGEMCP_STORE`` or ``memory://``); ``secret``
    signs session ids and sealed request state (default ``$EDGEMCP_SECRET``; without one a
    random secret is made, which is fine for one dev process only). ``max_pending_tasks``
    caps each caller's unfinished tasks; ``task_lease`` is how long (seconds) a task's
    replica may go silent before the task counts as failed. The limits a hostile client
    meets (``body_timeout``, ``session_rate``, ``max_streams_per_*``,
    ``max_pending_client_requests``, ``store_timeout``) and ``trusted_proxies`` are in the
    README's "Limits under abuse".
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
        idempotency_lease: float = 10.0,
        max_pending_tasks: int = 100,
        task_lease: float = 10.0,
        stream_poll_after: float | None = None,
        stream_retry: float = 1.0,
        stream_log_length: int = 200,
        stream_log_ttl: float = 300.0,
        max_streams_per_session: int = 8,
        max_streams_per_principal: int = 64,
        body_timeout: float = 30.0,
        session_rate: "str | Rate | None" = DEFAULT_SESSION_RATE,
        max_pending_client_requests: int = 16,
        store_timeout: float = DEFAULT_STORE_TIMEOUT,
        trusted_proxies: list[str] | None = None,
        telemetry: Telemetry | bool = True,
        audit: AuditSink | bool = True,
        role: Role | None = None,
        core_url: str | None = None,
    ) -> None:
        self.name = name
        self.version = version
        given = [] if auth is None else list(auth) if isinstance(auth, Sequence) else [auth]
        self.identity = Identity(given, auth_required)
        server_info: dict[str, Any] = {"name": name, "version": version}
        if title:
            server_info["title"] = title
        self.registry = Registry(server_info, instructions=instructions, list_ttl_ms=int(list_ttl * 1000),
                                 page_size=page_size, private_lists=self.identity.enabled)
        self.settings = Settings(
            allowed_hosts=allowed_hosts, allowed_origins=allowed_origins, max_body_size=max_body_size,
            max_depth=max_depth, session_ttl=session_ttl, request_state_ttl=request_state_ttl,
            reply_timeout=reply_timeout, rate_limit=Rate.parse(rate_limit) if rate_limit is not None else None,
            kill_switch_refresh=kill_switch_refresh, idempotency_ttl=idempotency_ttl,
            idempotency_lease=idempotency_lease,
            role=role, core_url=core_url,
            max_pending_tasks=max_pending_tasks, task_lease=task_lease,
            stream_poll_after=stream_poll_after, stream_retry=stream_retry, stream_log_length=stream_log_length,
            stream_log_ttl=stream_log_ttl, max_streams_per_session=max_streams_per_session,
            max_streams_per_principal=max_streams_per_principal, body_timeout=body_timeout,
            session_rate=Rate.parse(session_rate) if session_rate is not None else None,
            max_pending_client_requests=max_pending_client_requests, store_timeout=store_timeout,
            trusted_proxies=trusted_proxies,
        )
        if trusted_proxies is not None:
            parse_networks(trusted_proxies)  # a typo fails here, not at the first request
        # OpenTelemetry spans and metrics, when opentelemetry-api is installed and an SDK
        # provider is set; ``False`` turns them off.
        self.telemetry = telemetry if isinstance(telemetry, Telemetry) else Telemetry(enabled=telemetry)
        # The audit log: JSON lines on stdout (logger "edgemcp.audit") unless given a sink;
        # ``False`` turns it off.
        self._audit_sink: AuditSink | None = (
            None if audit is False else LoggingSink() if audit is True else audit)
        self._store = store
        self._secret = secret
        self._transport: Any = None  # outbound HTTP (router.outbound.Outbound): the platform's, on Workers
        self._runtime: Runtime | None = None
        self._default_asgi: ASGIApp | None = None
        self._requirements: list[Requirement] = []

    # -- what it serves ------------------------------------------------------------------
    @property
    def tools(self) -> dict[str, Tool]:
        return {tool.name: tool for tool in self.registry.local_tools}

    @overload
    def tool(self, fn: F, /) -> F: ...
    @overload
    def tool(self, /, **options: Unpack[ToolOptions]) -> Callable[[F], F]: ...
    def tool(self, fn: Any = None, /, **options: Unpack[ToolOptions]) -> Any:
        """Expose a function as a tool. Its type hints become the input schema.

        ``cache_ttl`` (seconds) and ``cache_scope`` say how long a result stays fresh and
        whether it may be shared across callers; ``placement`` says whether the tool can
        run at the edge; the hints mirror MCP's tool annotations. ``scopes`` are required
        of the caller, ``rate_limit`` ("5/minute", per agent; ``Rate(..., per="tool")`` for
        one budget shared by all) protects the tool, and ``dry_run=True`` says the tool
        honours ``ctx.dry_run``. ``audit`` maps argument names to what the audit log may
        show of them ("keep", "length", "last4", "type", "fingerprint", or a function);
        by default it shows only a keyed fingerprint of all arguments. ``task="optional"``
        or ``"required"`` runs calls as tasks for clients that declare the tasks extension
        (``task_start``, ``task_ttl``, ``task_poll_interval``: see the README).
        """

        def register(f: F) -> F:
            self.registry.local_tools.add(FunctionTool(f, **options))
            return f

        return register(fn) if fn is not None else register

    def resource(self, uri: str, **options: Unpack[ResourceOptions]) -> Callable[[F], F]:
        """Expose a function as a resource at ``uri``, or at every URI a template like
        ``notes://{id}`` matches (the variables become keyword arguments)."""

        def register(f: F) -> F:
            kind = ResourceTemplate if is_template(uri) else Resource
            self.registry.add_resource(kind(f, uri, **options))
            return f

        return register

    @overload
    def prompt(self, fn: F, /) -> F: ...
    @overload
    def prompt(self, /, **options: Unpack[PromptOptions]) -> Callable[[F], F]: ...
    def prompt(self, fn: Any = None, /, **options: Unpack[PromptOptions]) -> Any:
        """Expose a function returning messages (or a string) as a prompt."""

        def register(f: F) -> F:
            self.registry.add_prompt(Prompt(f, **options))
            return f

        return register(fn) if fn is not None else register

    def completion(
        self, *, prompt: str | None = None, resource: str | None = None
    ) -> Callable[[F], F]:
        """Complete arguments of a prompt, or variables of a resource template.

        The function gets ``(argument_name, partial_value, other_arguments)`` and returns
        a list of suggestions (sync or async).
        """
        if prompt is not None and resource is None:
            ref = ("ref/prompt", prompt)
        elif resource is not None and prompt is None:
            ref = ("ref/resource", resource)
        else:
            raise ValueError("give exactly one of prompt= or resource=")

        def register(f: F) -> F:
            self.registry.add_completer(ref, f)
            return f

        return register

    # -- change notifications ------------------------------------------------------------
    async def notify_list_changed(self, kind: Literal["tools", "prompts", "resources"]) -> None:
        """Tell clients that a list changed: every ``subscriptions/listen`` stream that asked
        (2026-07-28), and every handshake-era session's GET stream, on every replica."""
        await self._publish_change({"kind": kind})

    async def notify_resource_updated(self, uri: str) -> None:
        """Tell the clients subscribed to ``uri`` that it changed."""
        await self._publish_change({"kind": "resource", "uri": uri})

    async def _publish_change(self, change: dict[str, Any]) -> None:
        runtime = self.start()
        if runtime.events is not None:  # logged, so a stream that reconnects still gets it
            await runtime.events.publish_change(change)
        else:
            await runtime.keyspace.publish(CHANGES, change)

    async def notify_message(self, session_id: str, level: LogLevel, data: Any, *,
                             logger: str | None = None) -> bool:
        """Send a log message to a handshake-era session (``ctx.request.session_id``) on its
        GET stream, if the session asked for this level or above (``logging/setLevel``).
        Returns whether it was sent (the session exists, wants it, and has a stream)."""
        runtime = self.start()
        if runtime.events is None:
            return False
        session = await runtime.sessions.load(session_id)
        floor = session.log_level if session is not None else None
        if floor is None or LOG_LEVELS.index(level) < LOG_LEVELS.index(floor):
            return False
        params: dict[str, Any] = {"level": level, "data": data}
        if logger is not None:
            params["logger"] = logger
        return await runtime.events.post(session_id, [
            {"jsonrpc": "2.0", "method": "notifications/message", "params": params}])

    # -- serving -------------------------------------------------------------------------
    def require_store(
        self, feature: str, needs: str, check: Callable[[Capabilities], bool]
    ) -> None:
        """Declare that ``feature`` needs a store capability. A store without it is refused
        when the app starts (ASGI lifespan) or, without lifespan, at the first request."""
        self._requirements.append((feature, check, needs))

    def configure(self, *, store: Store | str | None = None, secret: str | bytes | None = None,
                  allowed_hosts: list[str] | None = None, allowed_origins: list[str] | None = None,
                  role: Role | None = None, core_url: str | None = None, hop_secret: str | None = None,
                  transport: Any = None) -> None:
        """Set the store, secret, allowed hosts, split role or outbound HTTP transport after
        construction (for platforms that hand them over at request time, such as a Worker's
        env). Takes effect at the next start: the runtime is built again."""
        if store is not None:
            self._store = store
        if secret is not None:
            self._secret = secret
        if allowed_hosts is not None:
            self.settings.allowed_hosts = allowed_hosts
        if allowed_origins is not None:
            self.settings.allowed_origins = allowed_origins
        if role is not None:
            self.settings.role = role
        if core_url is not None:
            self.settings.core_url = core_url
        if hop_secret is not None:
            self.settings.hop_secret = hop_secret
        if transport is not None:
            self._transport = transport
        self._runtime = None

    def start(self) -> Runtime:
        """The app's runtime, built on first use: the store, and every service over it."""
        if self._runtime is None:
            self._runtime = start(self.name, self.settings, self.registry, self.identity, self.telemetry,
                                  self._audit_sink, store=self._store, secret=self._secret,
                                  requirements=self._requirements, serve=self._serve)
        return self._runtime

    def _serve(self, foundation: Foundation) -> Served:
        """What this app serves in its role: everything here, or split with a core."""
        if foundation.role == "edge":
            from .router.split import serve_edge

            return serve_edge(self.registry, foundation, self.settings, self.identity, self._transport)
        if foundation.role == "core":
            from .router.split import serve_core

            return serve_core(self.registry, foundation, self.settings, self.identity)
        return Served(self.registry, self.registry.local_tools, self.identity)

    @property
    def runtime(self) -> Runtime:
        return self.start()

    @asynccontextmanager
    async def lifespan(self, host: Any = None) -> AsyncIterator[None]:
        """Start and stop this app with a host app: ``FastAPI(lifespan=mcp.lifespan)`` or
        ``Starlette(lifespan=mcp.lifespan)`` when ``mcp.asgi()`` is mounted in it (a host
        does not pass lifespan events to what it mounts). A bad configuration then fails
        the host's start, not the first request."""
        runtime = self.start()
        await runtime.warm_up()
        try:
            yield
        finally:
            await runtime.aclose()

    def run(self, transport: Literal["stdio", "http"] = "stdio", *, host: str = "127.0.0.1",
            port: int = 8000) -> None:
        """Serve this app until stopped: over stdio (the default: for a local client that
        launches the server; nothing but JSON-RPC goes to stdout) or over HTTP (uvicorn)."""
        from .stdio.process import run

        run(self, transport, host=host, port=port)

    def asgi(self, path: str = "/mcp") -> ASGIApp:
        """The ASGI application serving this server at ``path``."""
        return StreamableHTTP(self.start, path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The app is itself an ASGI app serving ``/mcp``: ``uvicorn module:app`` works."""
        if self._default_asgi is None:
            self._default_asgi = self.asgi()
        await self._default_asgi(scope, receive, send)
