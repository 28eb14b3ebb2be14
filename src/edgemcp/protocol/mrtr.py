"""Multi round-trip requests (2026-07-28): a call that needs input from the client ends
with ``input_required`` and a sealed ``requestState``; the client retries with the answers
and the function runs again from the top, this time getting them.

In the handshake era the same ``Context.ask`` sends a real server-to-client request
instead, so ``resumable`` is all a method needs to support both eras.
"""

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from .context import Context, InputRequired
from .errors import invalid_params
from .exchange import Exchange
from .meta import PROGRESS_TOKEN


def request_digest(method: str, target: str, arguments: dict[str, Any]) -> str:
    """What a ``requestState`` is bound to: this method, on this target, with these arguments."""
    canonical = json.dumps([method, target, arguments], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def retried(params: dict[str, Any]) -> bool:
    """An MRTR retry: it carries answers, so its result depends on them."""
    return "requestState" in params or "inputResponses" in params


async def resumable(
    exchange: Exchange,
    method: str,
    target: str,
    arguments: dict[str, Any],
    run: Callable[[Context], Awaitable[dict[str, Any]]],
    *,
    dry_run: bool = False,
    may_start_task: bool = False,
) -> dict[str, Any]:
    """Run ``run`` with a Context; in the modern era, resume from and answer with MRTR."""
    params, info, services = exchange.params, exchange.info, exchange.services
    meta = params.get("_meta")
    progress_token = meta.get(PROGRESS_TOKEN) if isinstance(meta, dict) else None
    answers: dict[str, Any] = {}
    state: dict[str, Any] = {}
    if info.modern:
        if "requestState" in params:
            answers, state = services.open_state(
                params["requestState"], info.principal.key, request_digest(method, target, arguments))
        responses = params.get("inputResponses")
        if responses is not None:
            if not isinstance(responses, dict):
                raise invalid_params("inputResponses must be an object")
            answers.update(responses)
    ctx = Context(info, exchange.channel, request_id=exchange.id, progress_token=progress_token,
                  answers=answers, state=state, dry_run=dry_run, meta=meta if isinstance(meta, dict) else None,
                  may_start_task=may_start_task)
    exchange.context = ctx  # what the run learned (how a tool failed) outlives it
    try:
        return await run(ctx)
    except InputRequired as needed:
        return {
            "resultType": "input_required",
            "inputRequests": {key: r.wire() for key, r in needed.requests.items()},
            "requestState": services.seal_state(
                info.principal.key, request_digest(method, target, arguments), ctx.answers, ctx.state),
        }
