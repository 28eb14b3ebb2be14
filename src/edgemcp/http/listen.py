"""``subscriptions/listen`` (2026-07-28): one long SSE stream of the change notifications a
client opted into, fed by the store's pub/sub so a change on any replica reaches it. Each
holds a lease among its principal's open streams (state/leases.py), as GET streams do."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ..protocol.errors import RATE_LIMITED, ErrorKind, MCPError, unavailable
from ..protocol.meta import SUBSCRIPTION_ID
from ..state.events import CHANGES
from ..state.leases import Lease, LimitReached, StreamLeases
from ..store import Keyspace, StoreError
from ..types import Receive, Send
from .sse import KEEPALIVE, SSE_HEADERS, event
from .wire import Refusal, wait_disconnect

log = logging.getLogger("edgemcp")

LIST_FILTERS = {
    "toolsListChanged": "tools",
    "promptsListChanged": "prompts",
    "resourcesListChanged": "resources",
}
KEEPALIVE_SECONDS = 15.0


async def listen(keyspace: Keyspace, leases: StreamLeases, who: str, request_id: Any, params: dict[str, Any],
                 receive: Receive, send: Send) -> None:
    """Hold a lease among the principal's open streams (429 past the limit), then relay."""
    try:
        lease, _ = await leases.acquire(None, who, "listen")
    except LimitReached as exc:
        raise Refusal(too_many_streams(exc), request_id) from None
    except StoreError:
        raise Refusal(unavailable(), request_id) from None
    try:
        await _listen(keyspace, leases, lease, request_id, params, receive, send)
    finally:
        await leases.release(lease)


def too_many_streams(exc: LimitReached) -> MCPError:
    return MCPError(RATE_LIMITED, f"Too many open streams: this {exc.per} has {exc.limit}, the limit; "
                                  "close one first", {"per": exc.per, "limit": exc.limit},
                    kind=ErrorKind.RATE_LIMITED)


async def _listen(keyspace: Keyspace, leases: StreamLeases, lease: Lease, request_id: Any, params: dict[str, Any],
                  receive: Receive, send: Send) -> None:
    wanted = params.get("notifications")
    wanted = wanted if isinstance(wanted, dict) else {}
    accepted: dict[str, Any] = {k: True for k in LIST_FILTERS if wanted.get(k) is True}
    uris = wanted.get("resourceSubscriptions")
    if isinstance(uris, list) and all(isinstance(u, str) for u in uris):
        accepted["resourceSubscriptions"] = uris
    kinds = {LIST_FILTERS[k] for k in accepted if k in LIST_FILTERS}
    tag = {SUBSCRIPTION_ID: request_id}
    started = False
    try:
        async with keyspace.subscribe(CHANGES) as changes:
            await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
            started = True
            await send({"type": "http.response.body", "more_body": True, "body": event({
                "jsonrpc": "2.0", "method": "notifications/subscriptions/acknowledged",
                "params": {"_meta": tag, "notifications": accepted},
            })})
            await _relay(changes, kinds, accepted, tag, receive, send, lambda: leases.renew(lease))
    except StoreError:
        if not started:
            raise Refusal(unavailable(), request_id) from None
        log.warning("listen stream ended: the store connection dropped")
    except OSError:
        return  # client went away
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _relay(changes: Any, kinds: set[str], accepted: dict[str, Any], tag: dict[str, Any],
                 receive: Receive, send: Send, renew: Callable[[], Awaitable[bool]]) -> None:
    """Forward change notifications the client opted into, until it disconnects; renew
    the stream's lease every ``KEEPALIVE_SECONDS``."""
    loop = asyncio.get_running_loop()
    next_renewal = loop.time() + KEEPALIVE_SECONDS
    disconnect = asyncio.ensure_future(wait_disconnect(receive))
    try:
        while not disconnect.done():
            if loop.time() >= next_renewal:
                await renew()
                next_renewal = loop.time() + KEEPALIVE_SECONDS
            change = asyncio.ensure_future(changes.get())
            done, _ = await asyncio.wait((change, disconnect), timeout=KEEPALIVE_SECONDS,
                                         return_when=asyncio.FIRST_COMPLETED)
            if change not in done:
                change.cancel()
                await asyncio.gather(change, return_exceptions=True)
                if not disconnect.done():
                    await send({"type": "http.response.body", "body": KEEPALIVE, "more_body": True})
                continue
            note = change_notification(change.result(), kinds, accepted)
            if note is not None:
                note["params"]["_meta"] = tag
                await send({"type": "http.response.body", "body": event(note), "more_body": True})
    finally:
        disconnect.cancel()


def change_notification(change: Any, kinds: set[str], accepted: dict[str, Any]) -> dict[str, Any] | None:
    if not isinstance(change, dict):
        return None
    kind = change.get("kind")
    if kind in kinds:
        return {"jsonrpc": "2.0", "method": f"notifications/{kind}/list_changed", "params": {}}
    if kind == "resource" and change.get("uri") in accepted.get("resourceSubscriptions", ()):
        return {"jsonrpc": "2.0", "method": "notifications/resources/updated",
                "params": {"uri": change["uri"]}}
    return None
