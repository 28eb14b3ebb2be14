"""Read ``module:app`` without serving it: import the module, take its EdgeMCP app (or any
ASGI app) and talk MCP to it in process through ``httpx.ASGITransport``.

Going through the wire, not the app's internals, means a lock taken this way equals a lock
taken over HTTP from the same app served for real, and works for any ASGI MCP server.
"""

import logging
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from contextlib import asynccontextmanager, contextmanager, suppress
from typing import Any

import anyio
import httpx

from ..targets import TargetError, import_target
from .errors import SchemaError

ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[MutableMapping[str, Any]]],
     Callable[[MutableMapping[str, Any]], Awaitable[None]]],
    Awaitable[None],
]
_STARTUP_TIMEOUT = 30.0
_LOOPBACK = "localhost:8000"


def load(target: str) -> tuple[ASGIApp, str]:
    """The ASGI app named by ``module:attribute`` (attribute defaults to ``app``), and the
    Host its transport security accepts."""
    # Lists need no secret, but an app without one warns and invents one; a process-local
    # secret keeps the output clean and is never written anywhere.
    os.environ.setdefault("EDGEMCP_SECRET", secrets.token_urlsafe(32))
    try:
        found = import_target(target)
    except TargetError as exc:
        raise SchemaError(str(exc)) from None
    except Exception as exc:  # the user's module raised: its message may hold secrets
        raise SchemaError(f"importing {target} failed with {type(exc).__name__}") from None
    if callable(getattr(found, "asgi", None)):  # an EdgeMCP app
        return found.asgi(), _host(found)
    if callable(found):
        return found, _LOOPBACK
    raise SchemaError(f"{target} is neither an EdgeMCP app nor an ASGI app")


def _host(app: Any) -> str:
    """A Host the app accepts: its first configured host, else loopback (the default).

    Loopback gets a port because the official SDK's DNS-rebinding guard only accepts
    ``localhost:<port>``; edgemcp accepts loopback on any port."""
    settings = getattr(app, "settings", None)  # EdgeMCP keeps its options there
    configured = getattr(settings, "allowed_hosts", None)
    if configured is None:
        configured = [h.strip() for h in os.environ.get("EDGEMCP_ALLOWED_HOSTS", "").split(",")]
    named = [h for h in configured if isinstance(h, str) and h and h != "*"]
    return named[0] if named else _LOOPBACK


@asynccontextmanager
async def lifespan(app: ASGIApp) -> AsyncIterator[None]:
    """Run the app's ASGI lifespan around the block, as a server would (an SDK app starts its
    session manager there; an edgemcp app checks its store). Apps without lifespan support
    are fine."""
    to_app_send, to_app = anyio.create_memory_object_stream[MutableMapping[str, Any]](4)
    from_app_send, from_app = anyio.create_memory_object_stream[MutableMapping[str, Any]](4)
    scope: dict[str, Any] = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}

    async def run() -> None:
        # Raising on a lifespan scope is how an app says it does not support lifespan.
        with suppress(Exception):
            await app(scope, to_app.receive, from_app_send.send)
        await from_app_send.send({"type": "lifespan.unsupported"})

    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(run)
            await to_app_send.send({"type": "lifespan.startup"})
            with anyio.move_on_after(_STARTUP_TIMEOUT) as waiting:
                started = await from_app.receive()
            if waiting.cancelled_caught:
                tasks.cancel_scope.cancel()
                raise SchemaError(f"the app did not finish starting within {_STARTUP_TIMEOUT:.0f} s")
            if started["type"] == "lifespan.startup.failed":
                tasks.cancel_scope.cancel()
                raise SchemaError(f"the app failed to start: {_last_line(started.get('message'))}")
            try:
                yield
            finally:
                if started["type"] == "lifespan.startup.complete":
                    await to_app_send.send({"type": "lifespan.shutdown"})
                    with anyio.move_on_after(_STARTUP_TIMEOUT):
                        await from_app.receive()
                tasks.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        # The task group wraps whatever the block raised; the caller wants it as it was.
        raise _first_leaf(group) from None


def _last_line(message: Any) -> str:
    """Starlette puts a whole traceback in ``lifespan.startup.failed``: its last line says what."""
    lines = str(message or "").strip().splitlines()
    return lines[-1] if lines else "no reason given"


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


@contextmanager
def _quiet_audit() -> Iterator[None]:
    """Reading lists is not a call worth auditing, and audit lines on stdout would mix with
    the command's output (JSON included). While a handler of ours sits on the audit logger,
    edgemcp does not install its stdout one; a user's own handlers are left alone."""
    audit = logging.getLogger("edgemcp.audit")
    if audit.handlers:
        yield
        return
    quiet, propagate = logging.NullHandler(), audit.propagate
    audit.addHandler(quiet)
    audit.propagate = False
    try:
        yield
    finally:
        audit.removeHandler(quiet)
        audit.propagate = propagate


@asynccontextmanager
async def client_for(target: str, request_timeout: float) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """An httpx client wired to the app of ``target`` in process, and the URL of its endpoint."""
    app, host = load(target)
    # A crash in the app comes back as an HTTP 500 reply (reported in one line), not as an
    # exception with the app's traceback.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    with _quiet_audit():
        async with lifespan(app), httpx.AsyncClient(transport=transport, timeout=request_timeout) as client:
            yield client, f"http://{host}/mcp"
