"""Talking MCP to one upstream on behalf of a caller: one request, its notifications relayed
to the caller as they come, its result or error back.

The router speaks 2026-07-28 to an upstream that answers ``server/discover`` for it, else the
handshake era, with the upstream's session kept in the store (per client session, or per
principal and capabilities for a 2026-07-28 caller), so any replica continues it. It
forwards raw JSON-RPC and validates only what it must read: a gateway passes through what
it does not know. Why not the official SDK client: it keeps its session in process memory
and validates every message into models, and a router needs neither.
"""

import asyncio
import hashlib
import itertools
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ..guards.hop import ASSERTION_HEADER, VIA_HEADER, HopSigner
from ..jsoncodec import dumps, loads
from ..protocol.context import Context, InputRequest
from ..protocol.errors import INTERNAL_ERROR, ErrorKind, MCPError
from ..protocol.meta import (
    CLIENT_CAPABILITIES,
    CLIENT_INFO,
    LOG_LEVEL,
    PROGRESS_TOKEN,
    PROTOCOL_VERSION,
)
from ..protocol.request import RequestInfo
from ..protocol.routing_headers import routing_headers
from ..protocol.versions import LATEST_HANDSHAKE, LATEST_MODERN
from ..store import Keyspace
from ..version import __version__
from .health import Health
from .outbound import Outbound, Response, sse_events
from .upstream import Upstream, bad_answer, timed_out, unreachable

log = logging.getLogger("edgemcp")

ACCEPT = "application/json, text/event-stream"
ERA_TTL = 300.0  # seconds the router remembers which era an upstream speaks
SESSION_TTL = 3600.0
CAPABILITY_OF = {"elicitation/create": "elicitation", "sampling/createMessage": "sampling", "roots/list": "roots"}
# The upstream's answer as the HTTP status says it: how the router passes it on. The
# router's own credentials being refused, or an upstream failing inside, is the
# router's problem to report (502), never the client's.
KIND_OF_STATUS = {200: ErrorKind.ANSWER, 400: ErrorKind.BAD_REQUEST, 403: ErrorKind.FORBIDDEN,
                  404: ErrorKind.ANSWER, 409: ErrorKind.CONFLICT, 429: ErrorKind.RATE_LIMITED,
                  503: ErrorKind.UNAVAILABLE}

OnRequest = Callable[[dict[str, Any]], Awaitable[None]]


class SessionGone(Exception):
    """The upstream no longer knows the session (404): start a new one."""


class UpstreamClient:
    def __init__(self, upstream: Upstream, http: Outbound, keyspace: Keyspace, health: Health, *,
                 hop_id: str, signer: HopSigner | None = None) -> None:
        self.upstream = upstream
        self.http = http
        self.keyspace = keyspace
        self.health = health
        self.hop_id = hop_id
        self.signer = signer  # an edge asserts its caller to its core; a gateway never does
        self._ids = itertools.count(1)
        self._era: tuple[str, float] | None = None
        self._cancels: set[asyncio.Task[None]] = set()

    # -- the one entry point -------------------------------------------------------------
    async def call(self, method: str, params: dict[str, Any], ctx: Context | None, info: RequestInfo,
                   headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The upstream's result for ``method``; its JSON-RPC error, or a failure naming it,
        as an ``MCPError``."""
        upstream = self.upstream
        await self.health.check(upstream)
        try:
            async with asyncio.timeout(upstream.timeout) as deadline:
                if await self.era(info) == "modern":
                    return await self._modern(method, params, ctx, info, headers or {})
                return await self._handshake(method, params, ctx, info, deadline)
        except TimeoutError:
            await self.health.down(upstream, f"did not answer within {upstream.timeout:g} s")
            raise timed_out(upstream.name, upstream.timeout) from None
        except (OSError, asyncio.IncompleteReadError) as exc:
            await self.health.down(upstream, "is unreachable")
            raise unreachable(upstream.name, f"is unreachable ({type(exc).__name__})") from None
        except ValueError as exc:  # not HTTP, or not JSON
            raise bad_answer(upstream.name, str(exc) or type(exc).__name__) from None

    async def era(self, info: RequestInfo) -> str:
        """``modern`` when the upstream answers ``server/discover`` for 2026-07-28."""
        if self.upstream.era is not None:
            return self.upstream.era
        now = asyncio.get_running_loop().time()
        if self._era is not None and self._era[1] > now:
            return self._era[0]
        key = f"upstream-era:{self.upstream.name}"
        era = await self.keyspace.get(key)
        if era not in ("modern", "handshake"):
            era = await self._discover(info)
            await self.keyspace.set(key, era, ERA_TTL)
        self._era = (era, now + min(ERA_TTL, 10.0))  # replica-local for a few seconds at most
        return str(era)

    async def forget_era(self) -> None:
        self._era = None
        await self.keyspace.delete(f"upstream-era:{self.upstream.name}")

    # -- 2026-07-28 ----------------------------------------------------------------------
    async def _discover(self, info: RequestInfo) -> str:
        request_id = next(self._ids)
        body = {"jsonrpc": "2.0", "id": request_id, "method": "server/discover",
                "params": {"_meta": self._modern_meta(None, info)}}
        headers = await self._headers(info, {"mcp-protocol-version": LATEST_MODERN, "mcp-method": "server/discover"})
        response = await self.http.post(self.upstream.url, headers, dumps(body))
        try:
            raw = await response.read()
        finally:
            await response.aclose()
        try:
            answer = loads(raw) if "json" in response.headers.get("content-type", "") else None
        except ValueError:
            answer = None
        if response.status >= 500:  # not "I do not speak 2026-07-28": a failure
            if isinstance(answer, dict) and "error" in answer:
                self._answer(answer, response.status)
            raise ConnectionError(f"discover answered {response.status}")
        result = answer.get("result") if isinstance(answer, dict) else None
        versions = result.get("supportedVersions") if isinstance(result, dict) else None
        return "modern" if isinstance(versions, list) and LATEST_MODERN in versions else "handshake"

    def _modern_meta(self, ctx: Context | None, info: RequestInfo) -> dict[str, Any]:
        meta: dict[str, Any] = {}
        if ctx is not None:  # what the client sent beyond the protocol's own keys passes on
            meta.update({k: v for k, v in ctx.meta.items() if not k.startswith("io.modelcontextprotocol/")})
            if ctx.progress_token is not None:
                meta[PROGRESS_TOKEN] = ctx.progress_token
        meta[PROTOCOL_VERSION] = LATEST_MODERN
        meta[CLIENT_CAPABILITIES] = info.client_capabilities
        meta[CLIENT_INFO] = info.client_info or {"name": "edgemcp-router", "version": __version__}
        if info.log_level is not None:
            meta[LOG_LEVEL] = info.log_level
        return meta

    async def _modern(self, method: str, params: dict[str, Any], ctx: Context | None, info: RequestInfo,
                      extra: Mapping[str, str]) -> dict[str, Any]:
        request_id = next(self._ids)
        body = {"jsonrpc": "2.0", "id": request_id, "method": method,
                "params": {**params, "_meta": self._modern_meta(ctx, info)}}
        routing = {**routing_headers(LATEST_MODERN, method, params), **extra}
        headers = await self._headers(info, routing)
        return await self._exchange(headers, dumps(body), request_id, ctx, None)

    # -- handshake era -------------------------------------------------------------------
    async def _handshake(self, method: str, params: dict[str, Any], ctx: Context | None, info: RequestInfo,
                         deadline: asyncio.Timeout) -> dict[str, Any]:
        for _ in range(2):
            session, version = await self._session(info)
            try:
                return await self._in_session(session, version, method, params, ctx, info, deadline)
            except SessionGone:
                await self.keyspace.delete(self._session_key(info))
        raise bad_answer(self.upstream.name, "it keeps losing the session it just opened")

    def _session_key(self, info: RequestInfo) -> str:
        # A handshake-era client has a session of its own: the upstream session follows it.
        # A 2026-07-28 client has none: one upstream session per principal and declared
        # capabilities (what the upstream may ask of it) is shared by its calls.
        scope = info.session_id or hashlib.sha256(
            json.dumps([info.principal.key, info.client_capabilities], sort_keys=True).encode()).hexdigest()[:32]
        return f"upstream-session:{self.upstream.name}:{scope}"

    async def _session(self, info: RequestInfo) -> tuple[str | None, str]:
        record = await self.keyspace.get(self._session_key(info))
        if isinstance(record, dict):
            return record.get("id"), str(record.get("version") or LATEST_HANDSHAKE)
        request_id = next(self._ids)
        body = {"jsonrpc": "2.0", "id": request_id, "method": "initialize", "params": {
            "protocolVersion": LATEST_HANDSHAKE, "capabilities": info.client_capabilities,
            "clientInfo": info.client_info or {"name": "edgemcp-router", "version": __version__}}}
        headers = await self._headers(info, {})
        response = await self.http.post(self.upstream.url, headers, dumps(body))
        try:
            session = response.headers.get("mcp-session-id")
            result = await self._read(response, request_id, None, None)
        finally:
            await response.aclose()
        version = result.get("protocolVersion")
        version = version if isinstance(version, str) else LATEST_HANDSHAKE
        session_headers = {"mcp-protocol-version": version, **({"mcp-session-id": session} if session else {})}
        note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        await self._post(await self._headers(info, session_headers), dumps(note))
        await self.keyspace.set(self._session_key(info), {"id": session, "version": version}, SESSION_TTL)
        return session, version

    async def _in_session(self, session: str | None, version: str, method: str, params: dict[str, Any],
                          ctx: Context | None, info: RequestInfo, deadline: asyncio.Timeout) -> dict[str, Any]:
        request_id = next(self._ids)
        meta = {PROGRESS_TOKEN: ctx.progress_token} if ctx is not None and ctx.progress_token is not None else {}
        body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": {**params, **({"_meta": meta} if meta else {})}}
        in_session = {"mcp-protocol-version": version, **({"mcp-session-id": session} if session else {})}
        headers = await self._headers(info, in_session)

        async def answer(message: dict[str, Any]) -> None:
            reply = await self._client_answer(message, ctx, deadline)
            await self._post(headers, dumps(reply))

        try:
            return await self._exchange(headers, dumps(body), request_id, ctx, answer,
                                        session_gone=session is not None)
        except asyncio.CancelledError:
            # The caller went away or cancelled: tell the upstream, without holding anyone up.
            cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled",
                      "params": {"requestId": request_id, "reason": "cancelled by the client"}}
            task = asyncio.ensure_future(self._quietly(self._post(headers, dumps(cancel))))
            self._cancels.add(task)
            task.add_done_callback(self._cancels.discard)
            raise

    async def _client_answer(self, message: dict[str, Any], ctx: Context | None,
                             deadline: asyncio.Timeout) -> dict[str, Any]:
        """The upstream asks the client something mid-call (elicitation, sampling, roots):
        ask the caller, with the upstream's timeout paused while the person answers."""
        method, request_id = message.get("method"), message.get("id")
        if method == "ping":
            return {"jsonrpc": "2.0", "id": request_id, "result": {}}
        params = message.get("params") if isinstance(message.get("params"), dict) else {}
        if ctx is None or not isinstance(method, str) or method not in CAPABILITY_OF:
            return {"jsonrpc": "2.0", "id": request_id, "error": {"code": -32601, "message": f"Method not found: {method}"}}
        if ctx.request.modern:
            # A 2026-07-28 caller can only answer by retrying its request (MRTR), which would
            # start the upstream call over: refuse rather than loop.
            return {"jsonrpc": "2.0", "id": request_id, "error": {
                "code": INTERNAL_ERROR, "message": f"{method} cannot reach a 2026-07-28 client through a router"}}
        resume = deadline.when()
        deadline.reschedule(None)
        try:
            key = f"upstream-{request_id}"
            answers = await ctx.ask({key: InputRequest(method, params or {}, CAPABILITY_OF[method])})
            return {"jsonrpc": "2.0", "id": request_id, "result": answers[key]}
        except MCPError as exc:
            return {"jsonrpc": "2.0", "id": request_id, "error": exc.to_error()}
        finally:
            deadline.reschedule(None if resume is None else asyncio.get_running_loop().time() + self.upstream.timeout)

    @staticmethod
    async def _quietly(request: Awaitable[Any]) -> None:
        try:
            await request
        except Exception:  # best effort: the upstream may be gone already
            log.debug("notifying an upstream of a cancellation failed", exc_info=True)

    # -- both eras -----------------------------------------------------------------------
    async def _exchange(self, headers: dict[str, str], body: bytes, request_id: int, ctx: Context | None,
                        on_request: OnRequest | None, session_gone: bool = False) -> dict[str, Any]:
        response = await self.http.post(self.upstream.url, headers, body)
        try:
            if response.status == 404 and session_gone:
                raise SessionGone
            return await self._read(response, request_id, ctx, on_request)
        finally:
            await response.aclose()

    async def _post(self, headers: dict[str, str], body: bytes) -> None:
        """A message that needs no answer (a notification, a reply): read and let go."""
        response = await self.http.post(self.upstream.url, headers, body)
        try:
            await response.read()
        finally:
            await response.aclose()

    async def _headers(self, info: RequestInfo, extra: Mapping[str, str]) -> dict[str, str]:
        """Headers built afresh: nothing of the client's request is copied (its session id,
        Last-Event-ID, hop-by-hop headers, its token) but what the hop needs."""
        headers = {"content-type": "application/json", "accept": ACCEPT, **self.upstream.headers, **extra,
                   VIA_HEADER: ", ".join([*info.via, self.hop_id])}
        if info.correlation_id:
            headers["x-correlation-id"] = info.correlation_id
        if self.signer is not None:
            headers[ASSERTION_HEADER] = self.signer.sign(info.principal)
        if self.upstream.credentials is not None:
            headers.update(await self.upstream.credentials.headers(self.http, self.keyspace))
        return headers

    async def _read(self, response: Response, request_id: int, ctx: Context | None,
                    on_request: OnRequest | None) -> dict[str, Any]:
        status = response.status
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "application/json":
            return self._answer(loads(await response.read()), status)
        if kind == "text/event-stream" and status == 200:
            async for data in sse_events(response.chunks()):
                message = loads(data.encode())
                if not isinstance(message, dict):
                    continue
                if "method" in message and "id" not in message:
                    if ctx is not None and isinstance(message.get("params"), dict):
                        await ctx.notify(message["method"], message["params"])
                elif "method" in message:
                    if on_request is not None:
                        await on_request(message)
                elif message.get("id") == request_id:
                    return self._answer(message, status)
            raise bad_answer(self.upstream.name, "its event stream ended before the response")
        if status == 401:
            raise bad_answer(self.upstream.name, "it refused the router's credentials (401)")
        raise bad_answer(self.upstream.name, f"HTTP {status} {kind or 'without a content type'}, not MCP")

    def _answer(self, message: Any, status: int) -> dict[str, Any]:
        if not isinstance(message, dict):
            raise bad_answer(self.upstream.name, "not a JSON-RPC response")
        error = message.get("error")
        if isinstance(error, dict):
            code = error.get("code")
            kind = KIND_OF_STATUS.get(status, ErrorKind.BAD_GATEWAY)
            raise MCPError(code if isinstance(code, int) else INTERNAL_ERROR, str(error.get("message", "error")),
                           error.get("data"), kind=kind)
        result = message.get("result")
        if not isinstance(result, dict):
            raise bad_answer(self.upstream.name, "a response without a result object")
        return result
