"""Tools, resources and prompts that live on another server: the registry's own kinds, whose
``run``/``read``/``render`` forward through an ``UpstreamClient``. The protocol core, the
guards, the cache and the audit log treat them like local ones.

When the upstream needs input (``input_required``), ``relay`` asks the caller through the
Context, in whichever era the caller speaks: a 2026-07-28 caller gets ``input_required``
from this server, with the upstream's request state sealed inside this server's own; a
handshake-era caller gets a real server-to-client request. Then the upstream call is
retried with the answers. The caller never knows there was a hop.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from ..protocol.context import Context, InputRequest
from ..protocol.meta import SERVER_INFO
from ..protocol.routing_headers import param_headers
from ..registry.resources import Resource
from ..registry.tools import Tool
from ..schema.lock import item_digest
from .client import CAPABILITY_OF, UpstreamClient
from .upstream import bad_answer

HOP_STATE = "dev.edgemcp/hop"  # in ctx.state: the upstream's pending input requests and state
# What only this server's own answer may carry: the result's era fields are set again by
# this server's core, for the era its caller speaks.
ERA_FIELDS = ("resultType", "ttlMs", "cacheScope")

Send = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


async def relay(ctx: Context, upstream: str, send: Send) -> dict[str, Any]:
    """The upstream's final answer to a request ``send`` makes (given what to add to its
    params), asking the caller for any input it needs on the way."""
    pending = ctx.state.get(HOP_STATE)
    while True:
        extra: dict[str, Any] = {}
        if isinstance(pending, dict):
            requests = {key: _input_request(upstream, wire) for key, wire in pending["requests"].items()}
            extra["inputResponses"] = await ctx.ask(requests)
            if pending.get("state") is not None:
                extra["requestState"] = pending["state"]
        result = await send(extra)
        if result.get("resultType") != "input_required":
            ctx.state.pop(HOP_STATE, None)
            for name in ERA_FIELDS:
                result.pop(name, None)
            meta = result.get("_meta")
            if isinstance(meta, dict):
                meta.pop(SERVER_INFO, None)
            return result
        asked = result.get("inputRequests")
        if not isinstance(asked, dict) or not asked:
            raise bad_answer(upstream, "input_required without inputRequests")
        pending = {"requests": asked, "state": result.get("requestState")}
        ctx.state[HOP_STATE] = pending
        for key in asked:  # a new round asks afresh, even under a key used before
            ctx.answers.pop(key, None)


def _input_request(upstream: str, wire: Any) -> InputRequest:
    method = wire.get("method") if isinstance(wire, dict) else None
    params = wire.get("params", {}) if isinstance(wire, dict) else None  # roots/list may have none
    if method not in CAPABILITY_OF or not isinstance(params, dict):
        raise bad_answer(upstream, f"an input request for {method!r}")
    return InputRequest(method, params, CAPABILITY_OF[method])


class RemoteTool(Tool):
    """A tool run by an upstream under ``remote_name`` (its name there)."""

    def __init__(self, definition: dict[str, Any], client: UpstreamClient, *, remote_name: str,
                 **policies: Any) -> None:
        super().__init__(definition, **policies)
        self.client = client
        self.remote_name = remote_name

    @classmethod
    def of(cls, tool: Tool, client: UpstreamClient) -> "RemoteTool":
        """``tool`` (this app's own) run on the server ``client`` talks to."""
        return cls(tool.definition, client, remote_name=tool.name, placement=tool.placement, cache=tool.cache,
                   scopes=tool.scopes, rate=tool.rate, dry_run=tool.dry_run, audit=tool.audit)

    async def run(self, arguments: dict[str, Any], ctx: Context) -> dict[str, Any]:
        headers = param_headers(self.header_params, arguments)

        def send(extra: dict[str, Any]) -> Awaitable[dict[str, Any]]:
            params = {"name": self.remote_name, "arguments": arguments, **extra}
            return self.client.call("tools/call", params, ctx, ctx.request, headers)

        return await relay(ctx, self.client.upstream.name, send)


class RemoteResource:
    """A resource (or every resource of a template) an upstream serves; ``local`` is this
    app's own declaration of it, when it has one (its cache policy holds here too)."""

    def __init__(self, definition: dict[str, Any], client: UpstreamClient, local: Resource | None = None) -> None:
        self.definition = definition
        self.digest = item_digest(definition)
        self.client = client
        self.cache = local.cache if local is not None else None

    async def read(self, uri: str, variables: dict[str, str], ctx: Context) -> list[dict[str, Any]]:
        def send(extra: dict[str, Any]) -> Awaitable[dict[str, Any]]:
            return self.client.call("resources/read", {"uri": uri, **extra}, ctx, ctx.request)

        result = await relay(ctx, self.client.upstream.name, send)
        contents = result.get("contents")
        if not isinstance(contents, list):
            raise bad_answer(self.client.upstream.name, "resources/read without contents")
        return contents


class RemotePrompt:
    """A prompt an upstream renders under ``remote_name``."""

    def __init__(self, definition: dict[str, Any], client: UpstreamClient, *, remote_name: str) -> None:
        self.definition = definition
        self.digest = item_digest(definition)
        self.client = client
        self.remote_name = remote_name

    async def render(self, arguments: dict[str, Any], ctx: Context) -> dict[str, Any]:
        def send(extra: dict[str, Any]) -> Awaitable[dict[str, Any]]:
            params = {"name": self.remote_name, "arguments": arguments, **extra}
            return self.client.call("prompts/get", params, ctx, ctx.request)

        return await relay(ctx, self.client.upstream.name, send)
