"""2026-07-28 requests: stateless. The routing headers must agree with the body, the
request's ``_meta`` declares who the client is, and closing the stream cancels the call."""

from collections.abc import Awaitable
from typing import Any

from ..observe.observation import Observation, Outcome
from ..protocol.dispatch import modern_meta
from ..protocol.errors import ErrorKind, MCPError, header_mismatch, method_not_found
from ..protocol.principal import ANONYMOUS, Principal
from ..protocol.request import RequestInfo
from ..protocol.routing_headers import NAMED_METHODS, argument_at
from ..registry.source import ToolSource
from ..runtime import Runtime
from ..types import Receive, Send
from .caller import holder, identify, request_info
from .cancellation import run_cancellable
from .channel import ResponseChannel
from .listen import listen
from .wire import (
    Headers,
    Refusal,
    decode_header_value,
    error_headers,
    send_empty,
    status_of,
    wait_disconnect,
)

CANCEL_WATCH_AFTER = 0.2  # seconds: most calls end before a watcher would be worth starting


async def serve(runtime: Runtime, headers: Headers, message: dict[str, Any], params: dict[str, Any],
                header_version: str | None, meta_version: Any, receive: Receive, send: Send,
                observation: Observation) -> Outcome:
    request_id = message.get("id")
    try:
        pending = check_headers(runtime.pipeline.source, headers, message, params, header_version, meta_version)
        if pending is not None:  # a tool only its source can look up (a router's upstream)
            await pending
        version, capabilities, client_info, level = modern_meta(params)
    except MCPError as exc:
        raise Refusal(exc, request_id) from None

    def described(principal: Principal) -> RequestInfo:
        return request_info(headers, "modern", version, capabilities=capabilities, client_info=client_info,
                            log_level=level, principal=principal, correlation_id=observation.correlation_id)

    principal = ANONYMOUS
    if runtime.identity.enabled:
        try:
            principal = await identify(runtime.identity, headers, request_id)
        except Refusal as refusal:
            refusal.info = described(ANONYMOUS)  # for the operator's record of the refusal
            raise
    info = described(principal)
    if "id" not in message:
        await send_empty(send, 202, [observation.header])
        return Outcome(info, None, 202)
    method = message["method"]
    if method == "subscriptions/listen":
        assert runtime.leases is not None
        await listen(runtime.keyspace, runtime.leases, holder(principal, headers), request_id, params, receive, send)
        return Outcome(info, None, 200)
    if not runtime.dispatcher.knows(method, "modern"):
        raise Refusal(method_not_found(method, ErrorKind.NOT_FOUND), request_id, info=info)
    channel = ResponseChannel(send, observation)
    # Closing the stream is cancellation in this era: stop and send nothing more.
    reply, cancelled = await run_cancellable(
        runtime.dispatcher.handle(message, info, runtime.pipeline, channel),
        lambda: wait_disconnect(receive), CANCEL_WATCH_AFTER)
    if cancelled or reply is None:
        await channel.cancel_callbacks.run()  # the call's ctx.on_cancel callbacks
        await channel.abort()
        return Outcome(info, None, cancelled=True)
    if reply.error is None:
        await channel.finish(reply.response)
    else:
        await channel.finish(reply.response, status_of(reply.error), error_headers(reply.error))
    return Outcome(info, channel.response, channel.status, failure=reply.failure)


def check_headers(tools: ToolSource, headers: Headers, message: dict[str, Any], params: dict[str, Any],
                  header_version: str | None, meta_version: Any) -> Awaitable[None] | None:
    """The routing headers (SEP-2243) must be there and agree with the body. Checked at
    once, with no coroutine on the hot path; a tool the source cannot name at once (no
    I/O) comes back as the awaitable that checks its parameter headers."""
    method = message["method"]
    if header_version is None:
        raise header_mismatch("MCP-Protocol-Version header is required")
    if isinstance(meta_version, str) and meta_version != header_version:
        raise header_mismatch(
            f"MCP-Protocol-Version header value {header_version!r} does not match "
            f"body value {meta_version!r}"
        )
    if "id" not in message:
        return None  # header requirements for notifications are not defined
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
        if decode_header_value(sent_name) != params.get(field):
            raise header_mismatch(f"Mcp-Name header does not match params.{field}")
    if method == "tools/call":
        name = params.get("name")
        if not isinstance(name, str):
            return None
        tool = tools.peek(name)
        if tool is None:
            return _check_fetched_tool(tools, name, headers, params)
        if tool.header_params:
            _check_param_headers(tool.header_params, headers, params)
    return None


async def _check_fetched_tool(tools: ToolSource, name: str, headers: Headers, params: dict[str, Any]) -> None:
    tool = await tools.get_tool(name)
    if tool is not None and tool.header_params:
        _check_param_headers(tool.header_params, headers, params)


def _check_param_headers(header_params: dict[str, tuple[str, ...]], headers: Headers,
                         params: dict[str, Any]) -> None:
    """Each ``x-mcp-header`` argument the call carries must be mirrored in its header."""
    arguments = params.get("arguments") if isinstance(params.get("arguments"), dict) else {}
    for header, path in header_params.items():
        value = argument_at(arguments, path)
        sent = headers.protocol(f"mcp-param-{header}")
        if value is None:
            continue
        if sent is None:
            raise header_mismatch(f"Mcp-Param-{header} header is required")
        decoded = decode_header_value(sent)
        if isinstance(value, bool):
            matches = decoded == ("true" if value else "false")
        elif isinstance(value, int | float):
            try:
                matches = float(decoded) == float(value)
            except ValueError:
                matches = False
        else:
            matches = decoded == str(value)
        if not matches:
            raise header_mismatch(f"Mcp-Param-{header} header does not match the argument")
