"""The Worker's fetch handler around an ``EdgeMCP`` app."""

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from ..runtime import ConfigurationError
from ..tasks.runner import keep_alive_with
from ..types import ASGIApp
from .bridge import Exchange, Platform, internal_error, request_scope
from .config import WorkerSettings

if TYPE_CHECKING:
    from ..app import EdgeMCP

log = logging.getLogger("edgemcp")


class WorkerHandler:
    """Configures the app from the first request's env, then runs each request through
    the ASGI app. Holds no per-request state: workerd makes a new entrypoint object per
    request, and one isolate serves many requests at once."""

    def __init__(self, app: "EdgeMCP", path: str = "/mcp") -> None:
        self.app = app
        self.path = path
        self.settings: WorkerSettings | None = None
        self.asgi: ASGIApp | None = None

    def configure(self, env: Any) -> "ASGIApp":
        """Apply the env's secret, store and hosts; again only if they changed."""
        settings = WorkerSettings.from_env(env)
        if self.asgi is not None and settings == self.settings:
            return self.asgi
        transport = None
        if settings.role == "edge":
            from .fetch import FetchOutbound

            transport = FetchOutbound()
        self.app.configure(
            store=settings.open_store(env), secret=settings.secret,
            allowed_hosts=list(settings.allowed_hosts) if settings.allowed_hosts is not None else None,
            allowed_origins=list(settings.allowed_origins) if settings.allowed_origins is not None else None,
            role=settings.role, core_url=settings.core_url, hop_secret=settings.hop_secret, transport=transport,
        )
        self.app.start()  # build now, so a store lacking a capability fails here
        self.asgi = self.app.asgi(self.path)
        self.settings = settings
        return self.asgi

    async def handle(
        self,
        *,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: AsyncIterator[bytes] | None,
        env: Any,
        platform: Platform,
        cf: dict[str, Any] | None = None,
        on_abort: Callable[[Callable[[], None]], None] | None = None,
        keep_alive: Callable[["asyncio.Future[None]"], None] | None = None,
    ) -> Any:
        """One request: returns the platform's response once its head is known; a
        streamed body goes on in a task handed to ``keep_alive`` (``ctx.waitUntil``), and
        so does the work of every task (the tasks extension) the request starts."""
        try:
            asgi = self.configure(env)
        except ConfigurationError as exc:
            log.error("edgemcp: the Worker is misconfigured: %s", exc)
            return platform.respond(503, [("content-type", "application/json")],
                                    internal_error(f"Server misconfigured: {exc}"))
        exchange = Exchange(request_scope(method, url, headers, cf=cf, env=env), body, platform)
        if on_abort is not None:
            on_abort(exchange.disconnect)
        if keep_alive is not None:
            with keep_alive_with(keep_alive):  # the request's asyncio task inherits it
                task = asyncio.ensure_future(exchange.run(asgi))
        else:
            task = asyncio.ensure_future(exchange.run(asgi))
        response = await exchange.response
        if not task.done() and keep_alive is not None:
            keep_alive(task)
        return response

    async def fetch(self, request: Any, env: Any, ctx: Any) -> Any:
        """workerd's side: a ``workers.Request`` (or JS Request) in, a JS Response out."""
        from . import runtime

        js = runtime.js_request(request)
        return await self.handle(
            method=str(js.method), url=str(js.url), headers=runtime.request_headers(js),
            body=runtime.request_body(js), env=env, platform=runtime.JSPlatform(),
            cf=runtime.request_cf(js),
            on_abort=lambda callback: runtime.on_abort(js, callback),
            keep_alive=lambda task: runtime.keep_alive(ctx, task),
        )


def entrypoint(app: "EdgeMCP", path: str = "/mcp") -> type:
    """A ``WorkerEntrypoint`` subclass serving ``app`` at ``path``: assign it to
    ``Default`` in the Worker's main module. Imports ``workers``, so call it only in a
    Worker (or its snapshot); it touches neither entropy nor the clock."""
    from workers import WorkerEntrypoint

    handler = WorkerHandler(app, path)

    class Default(WorkerEntrypoint):  # type: ignore[misc]
        async def fetch(self, request: Any) -> Any:
            return await handler.fetch(request, self.env, self.ctx)

    Default.handler = handler
    return Default
