"""A POST to the MCP endpoint: one JSON-RPC message. Parse and check it, tell its era,
observe it, and hand it to the era's handler; any refusal is answered here."""

import asyncio
from typing import Any

from ..guards.hop import ASSERTION_HEADER, MAX_HOPS, VIA_HEADER
from ..observe.observation import Outcome
from ..protocol.errors import (
    INVALID_REQUEST,
    ErrorKind,
    MCPError,
    invalid_params,
    invalid_request,
    unsupported_version,
)
from ..protocol.meta import PROTOCOL_VERSION
from ..protocol.versions import MODERN_VERSIONS, SUPPORTED_VERSIONS
from ..runtime import Runtime
from ..types import Receive, Send
from . import handshake, modern
from .caller import via
from .wire import Headers, Refusal, read_json, send_refusal


async def serve(runtime: Runtime, headers: Headers, receive: Receive, send: Send) -> None:
    settings = runtime.settings
    message = await read_json(headers, receive, settings.max_body_size, settings.max_depth, settings.body_timeout)
    if isinstance(message, list):
        raise Refusal(invalid_request("Invalid Request: batches are not supported; send one message per POST"))
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        raise Refusal(invalid_request("Invalid Request: expected one JSON-RPC 2.0 object"), echoed(message))
    request_id = message.get("id")
    if "method" not in message:
        if "id" in message and ("result" in message or "error" in message):
            await _reply(runtime, headers, message, send)
            return
        raise Refusal(invalid_request("Invalid Request: no method"), echoed(message))
    method = message["method"]
    if not isinstance(method, str):
        raise Refusal(invalid_request("Invalid Request: method must be a string"), echoed(message))
    if "id" in message and (not isinstance(request_id, str | int) or isinstance(request_id, bool)):
        raise Refusal(invalid_request("Invalid Request: id must be a string or an integer"))
    params = message.get("params")
    if params is None:
        params = message["params"] = {}
    if not isinstance(params, dict):
        raise Refusal(invalid_params("Invalid params: params must be an object", kind=ErrorKind.BAD_REQUEST),
                      request_id)
    try:
        header_version = headers.protocol("mcp-protocol-version")
    except MCPError as exc:
        raise Refusal(exc, request_id) from None
    meta = params.get("_meta")
    meta_version = meta.get(PROTOCOL_VERSION) if isinstance(meta, dict) else None
    if header_version is not None and header_version not in SUPPORTED_VERSIONS:
        raise Refusal(unsupported_version(header_version, SUPPORTED_VERSIONS), request_id)

    if VIA_HEADER in headers.values:  # it passed through a forwarding deployment
        hops = via(headers)
        if runtime.hop_id in hops or len(hops) >= MAX_HOPS:
            raise Refusal(MCPError(INVALID_REQUEST, "Loop detected: this request already passed through this "
                                   "server (check the core URL or the router's upstreams)", {"via": list(hops)}),
                          request_id, status=508)
    correlation = forwarded_correlation(headers) if runtime.role == "core" else None
    observation = runtime.observer.start(method, params, request_id, headers.values, correlation)
    outcome = Outcome()
    try:
        try:
            if header_version in MODERN_VERSIONS or meta_version is not None:
                outcome = await modern.serve(runtime, headers, message, params, header_version, meta_version,
                                             receive, send, observation)
            else:
                outcome = await handshake.serve(runtime, headers, message, params, header_version, send,
                                                observation)
        except MCPError as exc:  # a protocol header the edge checked on the way
            raise Refusal(exc, request_id) from None
    except Refusal as refusal:
        response = await send_refusal(send, refusal, [observation.header])
        outcome = Outcome(refusal.info, response, refusal.status)
    except asyncio.CancelledError:
        outcome = Outcome(outcome.info, cancelled=True)
        raise
    finally:
        await observation.end(outcome)


def echoed(message: Any) -> Any:
    """The id an answer to an invalid request carries: the request's, when it is one a
    request may have (a string or an integer), else null (JSON-RPC 2.0, section 5)."""
    request_id = message.get("id") if isinstance(message, dict) else None
    return request_id if isinstance(request_id, str | int) and not isinstance(request_id, bool) else None


def forwarded_correlation(headers: Headers) -> str | None:
    """On a core: the edge's correlation id, kept so one id follows the request across the
    hop; taken only from a request carrying an edge's assertion (a forged one is refused)."""
    if ASSERTION_HEADER not in headers.values:
        return None
    sent = headers.get("x-correlation-id") or ""
    return sent if len(sent) in (16, 32) and all(c in "0123456789abcdef" for c in sent) else None


async def _reply(runtime: Runtime, headers: Headers, message: dict[str, Any], send: Send) -> None:
    try:
        await handshake.client_reply(runtime, headers, message, send)
    except MCPError as exc:
        raise Refusal(exc) from None
