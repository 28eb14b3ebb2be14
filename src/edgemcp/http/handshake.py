"""Handshake-era requests (2024-11-05 … 2025-11-25): ``initialize`` opens a session whose
record lives in the store, so any replica serves the session's later requests, takes the
client's replies to our server-to-client requests, and hears its cancellations."""

import asyncio
import json
from typing import Any

from ..observe.observation import Observation, Outcome
from ..protocol.dispatch import error_response
from ..protocol.errors import ErrorKind, MCPError, invalid_request, unavailable
from ..protocol.principal import Principal
from ..protocol.versions import HANDSHAKE_VERSIONS, HEADERLESS_DEFAULT
from ..runtime import Runtime
from ..state.mailbox import Mailbox
from ..state.sessions import Session
from ..store import StoreError
from ..types import Send
from . import resumable, subscriptions
from .caller import identify, request_info
from .cancellation import run_cancellable
from .channel import REPLY_PREFIX, ResponseChannel, reply_key
from .wire import Headers, Refusal, error_headers, send_empty, send_json, status_of

CANCEL_WATCH_AFTER = 0.2  # seconds: most calls end before a watcher would be worth starting
MAX_CALL_SECONDS = 3600.0


def cancel_key(session_id: str, request_id: Any) -> str:
    return f"cancel:{session_id}:{json.dumps(request_id)}"


async def serve(runtime: Runtime, headers: Headers, message: dict[str, Any], params: dict[str, Any],
                header_version: str | None, send: Send, observation: Observation) -> Outcome:
    method = message["method"]
    request_id = message.get("id")
    if method == "initialize":
        return await initialize(runtime, headers, message, params, send, observation)
    session, principal = await load_session(runtime, headers, request_id)
    if "id" not in message:
        if method == "notifications/cancelled":
            try:
                await cancel(runtime.mailbox, session, params)
            except StoreError:
                raise Refusal(unavailable(), request_id) from None
        await send_empty(send, 202, [observation.header])
        return Outcome(None, None, 202)
    info = request_info(
        headers, "handshake", session.protocol_version or header_version or HEADERLESS_DEFAULT,
        capabilities=session.client_capabilities, client_info=session.client_info,
        log_level=session.log_level, principal=principal, session_id=session.id,
        correlation_id=observation.correlation_id)
    channel = resumable.response_channel(runtime, send, observation, session.id, message)
    # A notifications/cancelled for this call may arrive at any replica: watch for it
    # through the store, but only once the call has run for a moment.
    reply, cancelled = await run_cancellable(
        runtime.dispatcher.handle(message, info, runtime.pipeline, channel),
        lambda: _cancellation(runtime.mailbox, cancel_key(session.id, request_id)), CANCEL_WATCH_AFTER)
    if cancelled or reply is None:
        # notifications/cancelled: the call stopped; it gets no response (see the channel).
        await channel.cancel_callbacks.run()
        await channel.end_without_response()
        return Outcome(info, None, 200, cancelled=True)
    response, error = reply.response, reply.error
    if method == "logging/setLevel" and error is None:
        session.log_level = params["level"]
        try:
            await runtime.sessions.save(session)
        except StoreError:
            error = unavailable()
            response = error_response(request_id, error)
    if method in ("resources/subscribe", "resources/unsubscribe") and error is None:
        try:  # kept on the session, for its GET stream on any replica
            await subscriptions.remember(runtime, session, method, params["uri"])
        except (MCPError, StoreError) as exc:
            error = exc if isinstance(exc, MCPError) else unavailable()
            response = error_response(request_id, error)
    if error is None:
        await channel.finish(response)
    else:
        await channel.finish(response, status_of(error), error_headers(error))
    return Outcome(info, channel.response, channel.status, failure=reply.failure)


async def load_session(runtime: Runtime, headers: Headers, request_id: Any = None) -> tuple[Session, Principal]:
    """The caller's session and principal. A session presented by another principal is
    answered exactly like an unknown one, whatever the request (call, reply, DELETE)."""
    token = headers.protocol("mcp-session-id")
    if token is None:
        raise Refusal(invalid_request("Bad Request: Mcp-Session-Id header is required; send initialize first"),
                      request_id)
    raw_id = runtime.sessions.verify(token)
    session = None
    if raw_id is not None:  # a forged or tampered id costs no store read
        try:
            session = await runtime.sessions.load(raw_id)
        except StoreError:
            raise Refusal(unavailable(), request_id) from None
    principal = await identify(runtime.identity, headers, request_id)
    if session is None or session.principal != principal.key:
        raise Refusal(invalid_request("Session not found: initialize a new session", ErrorKind.NOT_FOUND),
                      request_id)
    return session, principal


async def initialize(runtime: Runtime, headers: Headers, message: dict[str, Any], params: dict[str, Any],
                     send: Send, observation: Observation) -> Outcome:
    request_id = message.get("id")
    principal = await identify(runtime.identity, headers, request_id)
    info = request_info(headers, "handshake", HEADERLESS_DEFAULT, principal=principal,
                        correlation_id=observation.correlation_id)
    if runtime.session_limiter is not None:
        try:
            await runtime.session_limiter.check(principal, headers.address)
        except MCPError as exc:
            raise Refusal(exc, request_id, info=info) from None
        except StoreError:
            raise Refusal(unavailable(), request_id, info=info) from None
    reply = await runtime.dispatcher.handle(message, info, runtime.pipeline, ResponseChannel(send, observation))
    result = reply.response.get("result")
    if result is None or reply.error is not None:
        error = reply.error or unavailable()
        await send_json(send, status_of(error), reply.response, [observation.header, *error_headers(error)])
        return Outcome(info, reply.response, status_of(error))
    capabilities = params.get("capabilities")
    client_info = params.get("clientInfo")
    try:
        token, _ = await runtime.sessions.create(
            result["protocolVersion"],
            capabilities if isinstance(capabilities, dict) else {},
            client_info if isinstance(client_info, dict) else None,
            principal.key,
        )
    except StoreError:
        raise Refusal(unavailable(), request_id, info=info) from None
    await send_json(send, 200, reply.response, [(b"mcp-session-id", token.encode("ascii")), observation.header])
    return Outcome(info, reply.response, 200)


async def cancel(mailbox: Mailbox, session: Session, params: dict[str, Any]) -> None:
    request_id = params.get("requestId")
    if isinstance(request_id, str | int):
        await mailbox.deliver(cancel_key(session.id, request_id), True, MAX_CALL_SECONDS)


async def _cancellation(mailbox: Mailbox, key: str) -> None:
    """Returns when a cancellation for ``key`` arrives (through the store)."""
    try:
        async with mailbox.expect(key) as receive:
            await receive(MAX_CALL_SECONDS)
    except (StoreError, TimeoutError):
        await asyncio.Event().wait()  # cannot watch: never cancel, let the call finish


async def client_reply(runtime: Runtime, headers: Headers, message: dict[str, Any], send: Send) -> None:
    """A client's answer to our server-to-client request: route it to the waiting call."""
    version = headers.protocol("mcp-protocol-version")
    if version is not None and version not in HANDSHAKE_VERSIONS:
        raise Refusal(invalid_request("Invalid Request: clients do not send responses in this protocol version"))
    session, _ = await load_session(runtime, headers)
    request_id = message.get("id")
    if not isinstance(request_id, str) or not request_id.startswith(REPLY_PREFIX):
        await send_empty(send, 202)  # not ours: nothing is waiting for it
        return
    reply = {k: message[k] for k in ("result", "error") if k in message}
    try:
        await runtime.mailbox.deliver(reply_key(session.id, request_id), reply, runtime.settings.reply_timeout)
    except StoreError:
        raise Refusal(unavailable()) from None
    await send_empty(send, 202)


async def delete(runtime: Runtime, headers: Headers, send: Send) -> None:
    session, _ = await load_session(runtime, headers)
    try:
        await runtime.sessions.delete(session.id)
    except StoreError:
        raise Refusal(unavailable()) from None
    await send_empty(send, 200)
