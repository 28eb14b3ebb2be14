"""Tools: a wire definition plus the policies edgemcp enforces around it, and a way to run.

``Tool`` is what every tool source serves; ``FunctionTool`` is the one ``@app.tool``
makes from a typed Python function. A tool that runs elsewhere (on another server, as a
background task) is another subclass with its own ``run``: the protocol core, the guards
and the cache treat them all alike.
"""

import hashlib
import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict, Unpack

from ..protocol.caching import CachePolicy, CacheScope
from ..protocol.context import Context, InputRequired, StartTask
from ..protocol.errors import ArgumentsError, MCPError, ServiceUnavailable, ToolError
from ..protocol.meta import CACHE, DRY_RUN, PLACEMENT, RATE_LIMIT, SCHEMA_DIGEST, SCOPES, TASK
from ..protocol.routing_headers import mirrored_params
from ..protocol.task_policy import (
    DEFAULT_POLL_INTERVAL,
    DEFAULT_TTL,
    TaskPolicy,
    TaskStart,
    TaskSupport,
)
from ..schema.lock import item_digest
from .content import is_content, text
from .policy import Placement, Rate, Summary, check_placement, check_summaries
from .signature import FunctionSignature, OutputSchema

log = logging.getLogger("edgemcp")

_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")


class ToolOptions(TypedDict, total=False):
    """What ``@app.tool(...)`` accepts, declared once for the decorator and the tool."""

    name: str | None  # default: the function's name
    title: str | None
    description: str | None  # default: the docstring
    cache_ttl: float | None  # seconds a result stays fresh; None: never cached
    cache_scope: CacheScope  # "private" (default): per principal; "public": shared
    placement: Placement  # "edge", "core" or "any" (default)
    read_only: bool | None  # the MCP annotations; undeclared means destructive + open-world
    destructive: bool | None
    idempotent: bool | None
    open_world: bool | None
    structured_output: bool | None  # False: no outputSchema from the return type
    input_schema: dict[str, Any] | None  # advertise this schema instead of the generated one
    scopes: Sequence[str]  # required of the caller
    rate_limit: "str | Rate | None"  # "5/minute" per agent; Rate(..., per="tool") shared
    dry_run: bool  # the tool honours ctx.dry_run
    # The tasks extension: "optional" or "required" makes calls from clients that declare
    # it tasks; the client polls for the result. Default None: never a task.
    task: TaskSupport | None
    task_start: TaskStart  # "call" (default): at once; "explicit": at ctx.start_task()
    task_ttl: float  # seconds a task and its result are kept (default 3600); ttlMs on the wire
    task_poll_interval: float  # seconds between the client's polls (default 1); pollIntervalMs
    icons: list[dict[str, Any]] | None
    meta: dict[str, Any] | None  # extra _meta on the definition
    audit: dict[str, Summary] | None  # what the audit log may show of each argument
    stream_poll_after: float | None  # handshake era: let go of the response's connection after this long


@dataclass(slots=True)
class ToolResult:
    """Full control over a tool's result, when returning plain values is not enough."""

    content: list[dict[str, Any]] = field(default_factory=list)
    structured: dict[str, Any] | None = None
    is_error: bool = False
    meta: dict[str, Any] | None = None

    def wire(self) -> dict[str, Any]:
        result: dict[str, Any] = {"content": self.content}
        if self.structured is not None:
            result["structuredContent"] = self.structured
        if self.is_error:
            result["isError"] = True
        if self.meta:
            result["_meta"] = self.meta
        return result


def error_result(message: str) -> dict[str, Any]:
    return {"content": [text(message)], "isError": True}


def check_name(name: str, kind: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"{kind} name {name!r} must be 1-128 characters of A-Z a-z 0-9 _ . -")
    return name


class Tool:
    """A tool as edgemcp serves it. Subclasses say how it runs."""

    def __init__(
        self,
        definition: dict[str, Any],
        *,
        placement: Placement = "any",
        cache: CachePolicy | None = None,
        scopes: frozenset[str] = frozenset(),
        rate: Rate | None = None,
        dry_run: bool = False,
        audit: dict[str, Summary] | None = None,
        task: TaskPolicy | None = None,
        stream_poll_after: float | None = None,
    ) -> None:
        self.name: str = definition["name"]
        # The contract's digest, as `edgemcp schema lock` records it, advertised with the tool.
        self.digest = item_digest(definition)
        self.definition = {**definition, "_meta": {**(definition.get("_meta") or {}), SCHEMA_DIGEST: self.digest}}
        self.placement = placement
        self.cache = cache
        self.scopes = scopes
        self.rate = rate
        self.dry_run = dry_run
        self.task = task
        self.audit = audit or {}  # per-argument summaries for the audit log
        # Overrides the app's stream_poll_after for this tool's calls (http/resumable.py).
        self.stream_poll_after = stream_poll_after
        input_schema = self.definition.get("inputSchema") or {}
        # x-mcp-header names (lower-cased) mapped to the property path each mirrors.
        self.header_params = mirrored_params(input_schema)
        schemas = [input_schema, definition.get("outputSchema")]
        # A changed tool never serves results cached for its old shape.
        self.schema_digest = hashlib.sha256(json.dumps(schemas, sort_keys=True).encode()).hexdigest()[:16]

    async def run(self, arguments: dict[str, Any], ctx: Context) -> dict[str, Any]:
        raise NotImplementedError


class FunctionTool(Tool):
    """A typed Python function as a tool: its hints are the input schema, its return type
    the output schema, and failures the model should see come back as ``isError``."""

    def __init__(self, fn: Callable[..., Any], **opts: Unpack[ToolOptions]) -> None:
        name = check_name(opts.get("name") or fn.__name__, "tool")
        placement = check_placement(opts.get("placement", "any"))
        cache = CachePolicy.from_seconds(opts.get("cache_ttl"), opts.get("cache_scope", "private"))
        self.signature = FunctionSignature(fn, name=name)
        # An explicit schema is advertised as given (for JSON Schema features type hints
        # cannot express); the signature still validates the parameters it names.
        given_schema = opts.get("input_schema")
        input_schema = given_schema if given_schema is not None else self.signature.input_schema
        if input_schema.get("type") != "object":
            raise ValueError(f"tool {name}: inputSchema must have type 'object'")
        self.output = (OutputSchema.for_return(self.signature.return_type)
                       if opts.get("structured_output") is not False else None)
        read_only, destructive = opts.get("read_only"), opts.get("destructive")
        open_world, title = opts.get("open_world"), opts.get("title")
        # Spec defaults: an undeclared tool may destroy things and reach the open world.
        annotations: dict[str, Any] = {
            "readOnlyHint": bool(read_only),
            "destructiveHint": (not read_only) if destructive is None else destructive,
            "idempotentHint": bool(opts.get("idempotent")),
            "openWorldHint": True if open_world is None else open_world,
        }
        if title:
            annotations["title"] = title
        rate_limit = opts.get("rate_limit")
        rate = Rate.parse(rate_limit) if rate_limit is not None else None
        scopes = frozenset(opts.get("scopes", ()))
        dry_run = opts.get("dry_run", False)
        task = TaskPolicy.from_options(opts.get("task"), opts.get("task_start", "call"),
                                       opts.get("task_ttl", DEFAULT_TTL),
                                       opts.get("task_poll_interval", DEFAULT_POLL_INTERVAL))
        if task is not None and cache is not None:
            raise ValueError(f"tool {name}: a task's handle cannot be cached: drop cache_ttl or task")
        description = opts.get("description")
        definition: dict[str, Any] = {"name": name, "inputSchema": input_schema}
        if title:
            definition["title"] = title
        description = description if description is not None else _doc(fn)
        if description:
            definition["description"] = description
        if self.output is not None:
            definition["outputSchema"] = self.output.schema
        definition["annotations"] = annotations
        if opts.get("icons"):
            definition["icons"] = opts["icons"]
        definition["_meta"] = _policy_meta(placement, cache, scopes, rate, dry_run, task, opts.get("meta"))
        super().__init__(definition, placement=placement, cache=cache, scopes=scopes, rate=rate,
                         dry_run=dry_run, audit=check_summaries(opts.get("audit")), task=task,
                         stream_poll_after=opts.get("stream_poll_after"))

    async def run(self, arguments: dict[str, Any], ctx: Context) -> dict[str, Any]:
        try:
            kwargs = self.signature.bind(arguments, ctx)
        except ArgumentsError as exc:
            ctx.failure = "invalid-arguments"
            return error_result(str(exc))
        try:
            value = await self.signature.call(kwargs)
        except ToolError as exc:
            return error_result(str(exc))
        except (InputRequired, StartTask, MCPError, ServiceUnavailable):
            # Control flow (MRTR, a task starting), a protocol error the tool raised, or the
            # store failing under ctx (asking the client): the store-down answer, not a bug.
            raise
        except Exception as exc:
            # Never the message: it may carry argument values or secrets.
            log.error("tool %s raised %s", self.name, type(exc).__name__)
            ctx.failure = type(exc).__name__
            log.debug("tool %s traceback", self.name, exc_info=True)
            return error_result(f"Tool '{self.name}' failed with an internal error.")
        return self.to_result(value)

    def to_result(self, value: Any) -> dict[str, Any]:
        if isinstance(value, ToolResult):
            return value.wire()
        if self.output is not None and not _looks_like_content(value):
            structured = self.output.structured(value)
            return {
                "content": [text(json.dumps(structured, ensure_ascii=False))],
                "structuredContent": structured,
            }
        return {"content": to_content(value)}


def _policy_meta(placement: Placement, cache: CachePolicy | None, scopes: frozenset[str],
                 rate: Rate | None, dry_run: bool, task: TaskPolicy | None,
                 extra: dict[str, Any] | None) -> dict[str, Any]:
    """The policies a client (or a gateway) may read off a tool's definition."""
    meta: dict[str, Any] = {PLACEMENT: placement, **(extra or {})}
    if cache is not None:
        meta[CACHE] = {"ttlMs": cache.ttl_ms, "scope": cache.scope}
    if scopes:
        meta[SCOPES] = sorted(scopes)
    if rate is not None:
        meta[RATE_LIMIT] = {"limit": rate.limit, "periodSeconds": rate.period, "per": rate.per}
    if dry_run:
        meta[DRY_RUN] = True
    if task is not None:
        meta[TASK] = task.wire()
    return meta


def to_content(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, str):
        return [text(value)]
    if is_content(value):
        return [value]
    if isinstance(value, list | tuple) and all(isinstance(v, str) or is_content(v) for v in value):
        return [text(v) if isinstance(v, str) else v for v in value]
    return [text(json.dumps(value, ensure_ascii=False, default=str))]


def _looks_like_content(value: Any) -> bool:
    return is_content(value) or (
        isinstance(value, list) and bool(value) and all(is_content(v) for v in value)
    )


def _doc(fn: Callable[..., Any]) -> str | None:
    import inspect

    doc = inspect.getdoc(fn)
    return doc or None
