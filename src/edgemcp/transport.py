"""Streamable HTTP as a plain ASGI application, both protocol eras on one endpoint.

This is the HTTP edge: it checks Host/Origin, content types, sizes and the protocol
headers, decides the era of each request, loads the handshake session from the store,
and then hands the JSON-RPC message to the pure ``Core``. A response goes out as one JSON
body unless the handler emits a notification or a server-to-client request, in which
case it becomes an SSE stream.
"""

import asyncio
import base64
import binascii
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .cancellation import run_cancellable
from .context import RequestInfo
from .core import PROTOCOL_VERSION, Core, error_response, modern_request_info
from .errors import (
    INTERNAL_ERROR,
    INVALID_REQUEST,
    PARSE_ERROR,
    MCPError,
    header_mismatch,
    invalid_params,
    invalid_request,
    method_not_found,
    unsupported_version,
)
from .guards import authenticate
from .jsoncodec import dumps, loads
from .observation import Observation
from .principal import ANONYMOUS, HTTPRequest, Principal
from .security import OriginGuard
from .sessions import Session
from .sse import KEEPALIVE, SSE_HEADERS, event
from .store import StoreError
from .versions import (
    HANDSHAKE_VERSIONS,
    HEADERLESS_DEFAULT,
    MODERN_VERSIONS,
    SUPPORTED_VERSIONS,
)

if TYPE_CHECKING:
    from .app import EdgeMCP

log = logging.getLogger("edgemcp")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

JSON_HEADERS = [(b"content-type", b"application/json")]
NAMED_METHODS = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}
SUBSCRIPTION_ID = "io.modelcontextprotocol/subscriptionId"
LIST_FILTERS = {
    "toolsListChanged": "tools",
    "promptsListChanged": "prompts",
    "resourcesListChanged": "resources",
}
KEEPALIVE_SECONDS = 15.0
CANCEL_WATCH_AFTER = 0.2
MAX_CALL_SECONDS = 3600.0


class Disconnected(Exception):
    """The client went away before we had the whole request."""


class HTTPError(Exception):
    """An answer given before the core runs: HTTP status plus a JSON-RPC error body."""

    def __init__(self, status: int, error: MCPError, request_id: Any = None,
                 headers: list[tuple[bytes, bytes]] | None = None) -> None:
        super().__init__(error.message)
        self.status = status
        self.error = error
        self.request_id = request_id
        self.headers = headers or []


def _reject(status: int, code: int, message: str) -> HTTPError:
    return HTTPError(status, MCPError(code, message))


async def send_json(send: Send, status: int, body: Any,
                    headers: list[tuple[bytes, bytes]] | None = None) -> None:
    # A declared length lets the server write head and body at once: without it uvicorn
    # falls back to chunked encoding, one more write and parse per response.
    data = dumps(body)
    await send({"type": "http.response.start", "status": status,
                "headers": [*JSON_HEADERS, (b"content-length", b"%d" % len(data)), *(headers or ())]})
    await send({"type": "http.response.body", "body": data})


async def send_empty(send: Send, status: int, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-length", b"0"), *(headers or ())]})
    await send({"type": "http.response.body", "body": b""})


class Headers:
    """The request headers we care about, with duplicates of protocol headers detected."""

    def __init__(self, scope: Scope) -> None:
        raw: list[tuple[bytes, bytes]] = scope["headers"]
        self.scope = scope
        client = scope.get("client")
        self.client: tuple[str, int] | None = (client[0], client[1]) if client else None
        self.duplicated: set[str] = set()
        # ASGI servers give lower-case names. RFC 9110 5.5: OWS is not part of the value.
        self.values: dict[str, str] = {
            key.decode("latin-1"): value.decode("latin-1").strip(" \t") for key, value in raw
        }
        if len(self.values) != len(raw):
            self._merge_repeated(raw)

    def _merge_repeated(self, raw: list[tuple[bytes, bytes]]) -> None:
        """A header sent more than once: list values are joined, protocol headers flagged."""
        self.values = {}
        for key, value in raw:
            name, text = key.decode("latin-1"), value.decode("latin-1").strip(" \t")
            if name not in self.values:
                self.values[name] = text
            elif name.startswith("mcp-"):
                self.duplicated.add(name)
            else:
                self.values[name] += ", " + text

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def protocol(self, name: str) -> str | None:
        if name in self.duplicated:
            raise header_mismatch(f"{name} header given more than once")
        return self.values.get(name)


def _decode_header_value(value: str) -> str:
    if value.startswith("=?base64?") and value.endswith("?="):
        try:
            return base64.b64decode(value[9:-2], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise header_mismatch("invalid base64 header value") from None
    if any((ord(c) < 0x20 and c != "\t") or ord(c) > 0x7E for c in value):
        raise header_mismatch("header value has invalid characters")
    return value


@lru_cache(maxsize=64)  # a client sends the same Accept header on every request
def _accepts(accept: str | None, *types: str) -> bool:
    if not accept:
        return False
    offered = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    if "*/*" in offered:
        return True
    return all(t in offered or t.split("/")[0] + "/*" in offered for t in types)


def _too_deep(body: bytes, limit: int) -> bool:
    # Counting brackets is a cheap upper bound on depth; only scan when it could matter.
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


class ResponseChannel:
    """Carries one request's output. Stays a plain JSON response until something must be
    streamed; then it switches to SSE and every message becomes an event."""

    def __init__(self, transport: "StreamableHTTP", send: Send, session: Session | None,
                 observation: Observation) -> None:
        self.transport = transport
        self.send = send
        self.session = session
        self.observation = observation
        self.headers = [observation.header]
        self.streaming = False
        self.closed = False

    async def _start_stream(self) -> None:
        self.streaming = True
        await self.send({"type": "http.response.start", "status": 200,
                         "headers": SSE_HEADERS + self.headers})

    async def emit(self, message: dict[str, Any]) -> None:
        if self.closed:
            return
        if not self.streaming:
            await self._start_stream()
        await self.send({"type": "http.response.body", "body": event(message), "more_body": True})

    async def notify(self, method: str, params: dict[str, Any]) -> None:
        await self.emit({"jsonrpc": "2.0", "method": method, "params": params})

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """A server-to-client request (handshake era). The reply arrives as a POST that any
        replica may receive; it reaches us through the store."""
        if self.session is None:
            raise MCPError(INVALID_REQUEST, f"{method} needs a handshake-era session")
        request_id = f"edgemcp-{secrets.token_urlsafe(12)}"
        mailbox = self.transport.app.runtime.mailbox
        async with mailbox.expect(f"reply:{self.session.id}:{request_id}") as receive:
            await self.emit({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
            reply = await receive(self.transport.app.reply_timeout)
        if "error" in reply:
            error = reply["error"] if isinstance(reply["error"], dict) else {}
            raise MCPError(int(error.get("code", INTERNAL_ERROR)),
                           f"Client refused {method}: {error.get('message', 'error')}")
        result = reply.get("result")
        return result if isinstance(result, dict) else {}

    async def finish(self, response: dict[str, Any], status: int,
                     headers: dict[str, str] | None = None) -> None:
        if self.closed:
            return
        self.closed = True
        self.observation.stamp(response)
        self.observation.response, self.observation.status = response, status
        if self.streaming:
            await self.send({"type": "http.response.body", "body": event(response), "more_body": False})
            return
        await send_json(self.send, status, response, self.headers + _encode_headers(headers or {}))

    async def abort(self) -> None:
        """Stop without a response (the request was cancelled)."""
        self.observation.cancelled = True
        if not self.closed and self.streaming:
            self.closed = True
            await self.send({"type": "http.response.body", "body": b"", "more_body": False})
        self.closed = True


class StreamableHTTP:
    """The ASGI app behind ``EdgeMCP.asgi()``."""

    def __init__(self, app: "EdgeMCP", path: str = "/mcp") -> None:
        self.app = app
        self.core = Core(app)
        self.path = path.rstrip("/") or "/"
        self.guard = OriginGuard(app.allowed_hosts, app.allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path = scope["path"].rstrip("/") or "/"
        oauth = self.app.oauth
        if oauth is not None and scope["method"] == "GET" and path == oauth.metadata_path:
            # RFC 9728 protected-resource metadata: public, cacheable, readable cross-origin.
            await send_json(send, 200, oauth.metadata(), [
                (b"cache-control", b"public, max-age=3600"), (b"access-control-allow-origin", b"*")])
            return
        if path != self.path:
            await send_json(send, 404, {"error": "not found", "mcpEndpoint": self.path})
            return
        headers = Headers(scope)
        try:
            if not self.guard.host_ok(headers.get("host")):
                raise _reject(403, INVALID_REQUEST, "Forbidden: Host header not allowed")
            if not self.guard.origin_ok(headers.get("origin")):
                raise _reject(403, INVALID_REQUEST, "Forbidden: Origin not allowed")
            method = scope["method"]
            if method == "POST":
                await self._post(headers, receive, send)
            elif method == "DELETE":
                await self._delete(headers, send)
            else:
                raise HTTPError(405, MCPError(INVALID_REQUEST, f"Method Not Allowed: {method}"),
                                headers=[(b"allow", b"POST, DELETE")])
        except Disconnected:
            return
        except HTTPError as exc:
            await _send_error(send, exc)

    async def _principal(self, headers: Headers, request_id: Any = None) -> Principal:
        app = self.app
        if not app.authenticators:
            return ANONYMOUS
        challenge = app.oauth.challenge() if app.oauth is not None else 'Bearer realm="mcp"'
        request = HTTPRequest(headers.values, headers.client, headers.scope)
        try:
            app.runtime  # noqa: B018 - builds the runtime, which binds authenticators to the store
            return await authenticate(app.authenticators, request, app.auth_required, challenge)
        except MCPError as exc:
            raise HTTPError(exc.status if exc.status >= 400 else 401, exc, request_id) from None
        except StoreError:
            raise _store_down(request_id) from None

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self.app.runtime  # noqa: B018 - build now: a bad configuration fails at start
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    # -- POST -----------------------------------------------------------------------------
    async def _read_json(self, headers: Headers, receive: Receive) -> Any:
        content_type = (headers.get("content-type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise _reject(415, INVALID_REQUEST, "Unsupported Media Type: Content-Type must be application/json")
        if not _accepts(headers.get("accept"), "application/json", "text/event-stream"):
            raise _reject(406, INVALID_REQUEST,
                          "Not Acceptable: Accept must list application/json and text/event-stream")
        limit = self.app.max_body_size
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise _reject(413, INVALID_REQUEST, f"Payload Too Large: the limit is {limit} bytes")
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise Disconnected
            body += message.get("body", b"")
            if len(body) > limit:
                raise _reject(413, INVALID_REQUEST, f"Payload Too Large: the limit is {limit} bytes")
            if not message.get("more_body"):
                break
        if _too_deep(body, self.app.max_depth):
            raise _reject(400, INVALID_REQUEST, f"Invalid Request: JSON nested deeper than {self.app.max_depth} levels")
        try:
            return loads(body)
        except (ValueError, RecursionError):
            raise _reject(400, PARSE_ERROR, "Parse error: body is not valid JSON") from None

    async def _post(self, headers: Headers, receive: Receive, send: Send) -> None:
        message = await self._read_json(headers, receive)
        if isinstance(message, list):
            raise _reject(400, INVALID_REQUEST, "Invalid Request: batches are not supported; send one message per POST")
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            raise _reject(400, INVALID_REQUEST, "Invalid Request: expected one JSON-RPC 2.0 object")
        request_id = message.get("id")
        if "method" not in message:
            if "id" in message and ("result" in message or "error" in message):
                await self._client_reply(headers, message, send)
                return
            raise _reject(400, INVALID_REQUEST, "Invalid Request: no method")
        method = message["method"]
        is_request = "id" in message
        if not isinstance(method, str):
            raise HTTPError(400, invalid_request("Invalid Request: method must be a string"), request_id)
        if is_request and (not isinstance(request_id, str | int) or isinstance(request_id, bool)):
            raise _reject(400, INVALID_REQUEST, "Invalid Request: id must be a string or an integer")
        params = message.get("params")
        if params is None:
            params = message["params"] = {}
        if not isinstance(params, dict):
            raise HTTPError(400, invalid_params("Invalid params: params must be an object"), request_id)

        header_version = headers.protocol("mcp-protocol-version")
        meta = params.get("_meta")
        meta_version = meta.get(PROTOCOL_VERSION) if isinstance(meta, dict) else None
        if header_version is not None and header_version not in SUPPORTED_VERSIONS:
            raise HTTPError(400, unsupported_version(header_version, SUPPORTED_VERSIONS), request_id)
        observation = Observation(self.app, method, params, request_id, headers.values)
        try:
            if header_version in MODERN_VERSIONS or meta_version is not None:
                await self._modern(headers, message, params, header_version, meta_version, receive, send,
                                   observation)
            else:
                await self._handshake(headers, message, params, header_version, send, observation)
        except HTTPError as exc:
            exc.headers.append(observation.header)
            observation.response, observation.status = await _send_error(send, exc), exc.status
        except asyncio.CancelledError:
            observation.cancelled = True
            raise
        finally:
            await observation.end()

    # -- 2026-07-28 -----------------------------------------------------------------------
    def _check_headers(self, headers: Headers, message: dict[str, Any], params: dict[str, Any],
                       header_version: str | None, meta_version: Any) -> None:
        method = message["method"]
        if header_version is None:
            raise header_mismatch("MCP-Protocol-Version header is required")
        if isinstance(meta_version, str) and meta_version != header_version:
            raise header_mismatch(
                f"MCP-Protocol-Version header value {header_version!r} does not match "
                f"body value {meta_version!r}"
            )
        if "id" not in message:
            return  # header requirements for notifications are not defined
        sent_method = headers.protocol("mcp-method")
        if sent_method is None:
            raise header_mismatch("Mcp-Method header is required")
        if sent_method != method:
            raise header_mismatch(f"Mcp-Method header value {sent_method!r} does not match body value {method!r}")
        field = NAMED_METHODS.get(method)
        if field is not None:
            sent_name = headers.protocol("mcp-name")
            if sent_name is None:
                raise header_mismatch("Mcp-Name header is required")
            body_name = params.get(field)
            if _decode_header_value(sent_name) != body_name:
                raise header_mismatch(f"Mcp-Name header does not match params.{field}")
        if method == "tools/call":
            self._check_param_headers(headers, params)

    def _check_param_headers(self, headers: Headers, params: dict[str, Any]) -> None:
        tool = self.app.tools.get(params.get("name"))  # type: ignore[arg-type]
        if tool is None:
            return
        arguments = params.get("arguments") if isinstance(params.get("arguments"), dict) else {}
        for header, path in tool.header_params.items():
            value: Any = arguments
            for part in path:
                value = value.get(part) if isinstance(value, dict) else None
            sent = headers.protocol(f"mcp-param-{header}")
            if value is None:
                continue
            if sent is None:
                raise header_mismatch(f"Mcp-Param-{header} header is required")
            decoded = _decode_header_value(sent)
            if isinstance(value, bool):
                expected = "true" if value else "false"
                matches = decoded == expected
            elif isinstance(value, int | float):
                try:
                    matches = float(decoded) == float(value)
                except ValueError:
                    matches = False
            else:
                matches = decoded == str(value)
            if not matches:
                raise header_mismatch(f"Mcp-Param-{header} header does not match the argument")

    async def _modern(self, headers: Headers, message: dict[str, Any], params: dict[str, Any],
                      header_version: str | None, meta_version: Any,
                      receive: Receive, send: Send, observation: Observation) -> None:
        request_id = message.get("id")
        try:
            self._check_headers(headers, message, params, header_version, meta_version)
            info = modern_request_info(params)
        except MCPError as exc:
            raise HTTPError(exc.status, exc, request_id) from None
        observation.info = info
        _describe_caller(info, headers, await self._principal(headers, request_id))
        if "id" not in message:
            observation.status = 202
            await send_empty(send, 202, [observation.header])
            return
        method = message["method"]
        if method == "subscriptions/listen":
            observation.status = 200
            await self._listen(request_id, params, info, receive, send)
            return
        if not self.core.knows(method, modern=True):
            raise HTTPError(404, method_not_found(method), request_id)
        channel = ResponseChannel(self, send, None, observation)
        # Closing the stream is cancellation in this era: stop and send nothing more.
        outcome, cancelled = await run_cancellable(
            self.core.handle(message, info, channel), lambda: _wait_disconnect(receive), CANCEL_WATCH_AFTER
        )
        if cancelled or outcome is None:
            await channel.abort()
            return
        response, status, extra = outcome
        await channel.finish(response, status, extra)

    async def _listen(self, request_id: Any, params: dict[str, Any], info: RequestInfo,
                      receive: Receive, send: Send) -> None:
        wanted = params.get("notifications")
        wanted = wanted if isinstance(wanted, dict) else {}
        accepted: dict[str, Any] = {k: True for k in LIST_FILTERS if wanted.get(k) is True}
        uris = wanted.get("resourceSubscriptions")
        if isinstance(uris, list) and all(isinstance(u, str) for u in uris):
            accepted["resourceSubscriptions"] = uris
        kinds = {LIST_FILTERS[k] for k in accepted if k in LIST_FILTERS}
        tag = {SUBSCRIPTION_ID: request_id}
        keyspace = self.app.runtime.keyspace
        started = False
        try:
            async with keyspace.subscribe("changes") as changes:
                await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
                started = True
                await send({"type": "http.response.body", "more_body": True, "body": event({
                    "jsonrpc": "2.0", "method": "notifications/subscriptions/acknowledged",
                    "params": {"_meta": tag, "notifications": accepted},
                })})
                await self._relay_changes(changes, kinds, accepted, tag, receive, send)
        except StoreError:
            if not started:
                raise _store_down(request_id) from None
            log.warning("listen stream ended: the store connection dropped")
        except OSError:
            return  # client went away
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _relay_changes(self, changes: Any, kinds: set[str], accepted: dict[str, Any],
                             tag: dict[str, Any], receive: Receive, send: Send) -> None:
        """Forward change notifications the client opted into, until it disconnects."""
        disconnect = asyncio.ensure_future(_wait_disconnect(receive))
        try:
            while not disconnect.done():
                change = asyncio.ensure_future(changes.get())
                done, _ = await asyncio.wait((change, disconnect), timeout=KEEPALIVE_SECONDS,
                                             return_when=asyncio.FIRST_COMPLETED)
                if change not in done:
                    change.cancel()
                    await asyncio.gather(change, return_exceptions=True)
                    if not disconnect.done():
                        await send({"type": "http.response.body", "body": KEEPALIVE, "more_body": True})
                    continue
                note = _change_notification(change.result(), kinds, accepted)
                if note is not None:
                    note["params"]["_meta"] = tag
                    await send({"type": "http.response.body", "body": event(note), "more_body": True})
        finally:
            disconnect.cancel()

    # -- handshake era (2024-11-05 … 2025-11-25) -------------------------------------------
    async def _session(self, headers: Headers, request_id: Any = None) -> tuple[Session, Principal]:
        """The caller's session and principal. A session presented by another principal is
        answered exactly like an unknown one, whatever the request (call, reply, DELETE)."""
        token = headers.protocol("mcp-session-id")
        if token is None:
            raise HTTPError(400, invalid_request("Bad Request: Mcp-Session-Id header is required; send initialize first"), request_id)
        sessions = self.app.runtime.sessions
        raw_id = sessions.verify(token)
        session = None
        if raw_id is not None:
            try:
                session = await sessions.load(raw_id)
            except StoreError:
                raise _store_down(request_id) from None
        principal = await self._principal(headers, request_id)
        if session is None or session.principal != principal.key:
            raise HTTPError(404, MCPError(INVALID_REQUEST, "Session not found: initialize a new session"), request_id)
        return session, principal

    async def _handshake(self, headers: Headers, message: dict[str, Any], params: dict[str, Any],
                         header_version: str | None, send: Send, observation: Observation) -> None:
        method = message["method"]
        request_id = message.get("id")
        if method == "initialize":
            await self._initialize(headers, message, params, send, observation)
            return
        session, principal = await self._session(headers, request_id)
        if "id" not in message:
            if method == "notifications/cancelled":
                await self._cancel(session, params)
            observation.status = 202
            await send_empty(send, 202, [observation.header])
            return
        info = RequestInfo("handshake", session.protocol_version or header_version or HEADERLESS_DEFAULT,
                           session.client_capabilities, session.client_info, session.log_level,
                           session_id=session.id)
        _describe_caller(info, headers, principal)
        observation.info = info
        channel = ResponseChannel(self, send, session, observation)
        # A notifications/cancelled for this call may arrive at any replica: watch for it
        # through the store, but only once the call has run for a moment.
        outcome, cancelled = await run_cancellable(
            self.core.handle(message, info, channel),
            lambda: self._cancellation(_cancel_key(session.id, request_id)), CANCEL_WATCH_AFTER,
        )
        if cancelled or outcome is None:
            await channel.finish(error_response(request_id, MCPError(INVALID_REQUEST, "Request cancelled")), 200)
            return
        response, status, extra = outcome
        if method == "logging/setLevel" and "result" in response:
            session.log_level = params["level"]
            try:
                await self.app.runtime.sessions.save(session)
            except StoreError:
                down = _store_down(request_id)
                response, status, extra = error_response(request_id, down.error), 503, {"retry-after": "5"}
        await channel.finish(response, status, extra)

    async def _cancellation(self, key: str) -> None:
        """Returns when a cancellation for ``key`` arrives (through the store)."""
        try:
            async with self.app.runtime.mailbox.expect(key) as receive:
                await receive(MAX_CALL_SECONDS)
        except (StoreError, TimeoutError):
            await asyncio.Event().wait()  # cannot watch: never cancel, let the call finish

    async def _initialize(self, headers: Headers, message: dict[str, Any], params: dict[str, Any],
                          send: Send, observation: Observation) -> None:
        principal = await self._principal(headers, message.get("id"))
        info = RequestInfo("handshake", HEADERLESS_DEFAULT, principal=principal)
        observation.info = info
        response, status, extra = await self.core.handle(message, info, ResponseChannel(self, send, None, observation))
        observation.response, observation.status = response, status
        result = response.get("result")
        if result is None:
            await send_json(send, status, response, [observation.header, *_encode_headers(extra)])
            return
        capabilities = params.get("capabilities")
        client_info = params.get("clientInfo")
        try:
            token, _ = await self.app.runtime.sessions.create(
                result["protocolVersion"],
                capabilities if isinstance(capabilities, dict) else {},
                client_info if isinstance(client_info, dict) else None,
                principal.key,
            )
        except StoreError:
            raise _store_down(message.get("id")) from None
        await send_json(send, 200, response, [(b"mcp-session-id", token.encode("ascii")), observation.header])

    async def _cancel(self, session: Session, params: dict[str, Any]) -> None:
        request_id = params.get("requestId")
        if isinstance(request_id, str | int):
            await self.app.runtime.mailbox.deliver(_cancel_key(session.id, request_id), True, MAX_CALL_SECONDS)

    async def _client_reply(self, headers: Headers, message: dict[str, Any], send: Send) -> None:
        """A client's answer to our server-to-client request: route it to the waiting call."""
        version = headers.protocol("mcp-protocol-version")
        if version is not None and version not in HANDSHAKE_VERSIONS:
            raise _reject(400, INVALID_REQUEST, "Invalid Request: clients do not send responses in this protocol version")
        session, _ = await self._session(headers)
        request_id = message.get("id")
        if not isinstance(request_id, str) or not request_id.startswith("edgemcp-"):
            await send_empty(send, 202)  # not ours: nothing is waiting for it
            return
        reply = {k: message[k] for k in ("result", "error") if k in message}
        try:
            await self.app.runtime.mailbox.deliver(
                f"reply:{session.id}:{request_id}", reply, self.app.reply_timeout
            )
        except StoreError:
            raise _store_down() from None
        await send_empty(send, 202)

    async def _delete(self, headers: Headers, send: Send) -> None:
        session, _ = await self._session(headers)
        await self.app.runtime.sessions.delete(session.id)
        await send_empty(send, 200)


async def _send_error(send: Send, exc: HTTPError) -> dict[str, Any]:
    """Answer with ``exc``; returns the JSON-RPC response sent."""
    headers = exc.headers + _encode_headers(exc.error.headers)
    if exc.status == 503 and "retry-after" not in exc.error.headers:
        headers.append((b"retry-after", b"5"))
    response = error_response(exc.request_id, exc.error)
    await send_json(send, exc.status, response, headers)
    return response


def _store_down(request_id: Any = None) -> HTTPError:
    return HTTPError(503, MCPError(INTERNAL_ERROR, "Service unavailable: state store unreachable"), request_id)


def _describe_caller(info: RequestInfo, headers: Headers, principal: Principal) -> None:
    """What the HTTP edge knows about the caller, for guards and the cache (both eras)."""
    info.principal = principal
    info.cache_bypass = "no-cache" in (headers.get("cache-control") or "")
    info.client = headers.client[0] if headers.client else None
    info.idempotency_key = headers.get("idempotency-key")


def _cancel_key(session_id: str, request_id: Any) -> str:
    return f"cancel:{session_id}:{json.dumps(request_id)}"


def _encode_headers(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]


async def _wait_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _change_notification(change: Any, kinds: set[str], accepted: dict[str, Any]) -> dict[str, Any] | None:
    if not isinstance(change, dict):
        return None
    kind = change.get("kind")
    if kind in kinds:
        return {"jsonrpc": "2.0", "method": f"notifications/{kind}/list_changed", "params": {}}
    if kind == "resource" and change.get("uri") in accepted.get("resourceSubscriptions", ()):
        return {"jsonrpc": "2.0", "method": "notifications/resources/updated",
                "params": {"uri": change["uri"]}}
    return None
