"""Tools: a typed function plus the metadata MCP and edgemcp attach to it."""

import hashlib
import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .audit import Summary, check_summaries
from .content import is_content, text
from .context import Context
from .errors import ToolError
from .guards.ratelimit import Rate
from .signature import ArgumentsError, FunctionSignature, OutputSchema

log = logging.getLogger("edgemcp")

META_PREFIX = "dev.edgemcp/"
Placement = Literal["edge", "core", "any"]
CacheScope = Literal["public", "private"]
_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """How long a result stays fresh, and who may share it."""

    ttl_ms: int
    scope: CacheScope = "private"

    @classmethod
    def from_seconds(cls, ttl: float | None, scope: CacheScope) -> "CachePolicy | None":
        if ttl is None:
            return None
        if ttl < 0:
            raise ValueError("cache_ttl must be >= 0 seconds")
        if scope not in ("public", "private"):
            raise ValueError("cache_scope must be 'public' or 'private'")
        return cls(int(ttl * 1000), scope)


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
    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        cache_ttl: float | None = None,
        cache_scope: CacheScope = "private",
        placement: Placement = "any",
        read_only: bool | None = None,
        destructive: bool | None = None,
        idempotent: bool | None = None,
        open_world: bool | None = None,
        structured_output: bool | None = None,
        input_schema: dict[str, Any] | None = None,
        scopes: "Sequence[str]" = (),
        rate_limit: "str | Rate | None" = None,
        dry_run: bool = False,
        icons: list[dict[str, Any]] | None = None,
        meta: dict[str, Any] | None = None,
        audit: "dict[str, Summary] | None" = None,
    ) -> None:
        self.name = check_name(name or fn.__name__, "tool")
        self.title = title
        self.description = description if description is not None else _doc(fn)
        if placement not in ("edge", "core", "any"):
            raise ValueError("placement must be 'edge', 'core' or 'any'")
        self.placement: Placement = placement
        self.cache = CachePolicy.from_seconds(cache_ttl, cache_scope)
        self.signature = FunctionSignature(fn, name=self.name)
        # An explicit schema is advertised as given (for JSON Schema features type hints
        # cannot express); the signature still validates the parameters it names.
        self.input_schema = input_schema if input_schema is not None else self.signature.input_schema
        if self.input_schema.get("type") != "object":
            raise ValueError(f"tool {self.name}: inputSchema must have type 'object'")
        self.output = (
            OutputSchema.for_return(self.signature.return_type)
            if structured_output is not False
            else None
        )
        # Spec defaults: an undeclared tool may destroy things and reach the open world.
        self.annotations: dict[str, Any] = {
            "readOnlyHint": bool(read_only),
            "destructiveHint": (not read_only) if destructive is None else destructive,
            "idempotentHint": bool(idempotent),
            "openWorldHint": True if open_world is None else open_world,
        }
        if title:
            self.annotations["title"] = title
        self.scopes = frozenset(scopes)
        self.rate = Rate.parse(rate_limit) if rate_limit is not None else None
        self.dry_run = dry_run
        self.meta = meta or {}
        self.audit = check_summaries(audit)  # per-argument summaries for the audit log
        self.icons = icons
        self.definition = self._definition()
        # x-mcp-header names (lower-cased) mapped to the property path each mirrors.
        self.header_params: dict[str, tuple[str, ...]] = {}
        _collect_headers(self.input_schema, (), self.header_params)
        schemas = [self.input_schema, self.output.schema if self.output else None]
        self.schema_digest = hashlib.sha256(
            json.dumps(schemas, sort_keys=True).encode()
        ).hexdigest()[:16]

    def _definition(self) -> dict[str, Any]:
        tool: dict[str, Any] = {"name": self.name, "inputSchema": self.input_schema}
        if self.title:
            tool["title"] = self.title
        if self.description:
            tool["description"] = self.description
        if self.output is not None:
            tool["outputSchema"] = self.output.schema
        tool["annotations"] = self.annotations
        if self.icons:
            tool["icons"] = self.icons
        meta = {f"{META_PREFIX}placement": self.placement, **self.meta}
        if self.cache is not None:
            meta[f"{META_PREFIX}cache"] = {"ttlMs": self.cache.ttl_ms, "scope": self.cache.scope}
        if self.scopes:
            meta[f"{META_PREFIX}scopes"] = sorted(self.scopes)
        if self.rate is not None:
            meta[f"{META_PREFIX}rateLimit"] = {"limit": self.rate.limit, "periodSeconds": self.rate.period,
                                               "per": self.rate.per}
        if self.dry_run:
            meta[f"{META_PREFIX}dryRun"] = True
        tool["_meta"] = meta
        return tool

    async def call(self, arguments: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """Run the tool. Failures the model should see come back as ``isError`` results."""
        try:
            kwargs = self.signature.bind(arguments, ctx)
        except ArgumentsError as exc:
            ctx.request.failure = "invalid-arguments"
            return error_result(str(exc))
        try:
            value = await self.signature.call(kwargs)
        except ToolError as exc:
            return error_result(str(exc))
        except Exception as exc:
            # Never the message: it may carry argument values or secrets.
            if _is_control_flow(exc):
                raise
            log.error("tool %s raised %s", self.name, type(exc).__name__)
            ctx.request.failure = type(exc).__name__
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


def _is_control_flow(exc: Exception) -> bool:
    from .context import InputRequired
    from .errors import MCPError

    return isinstance(exc, InputRequired | MCPError)


def _collect_headers(
    schema: dict[str, Any], path: tuple[str, ...], found: dict[str, tuple[str, ...]]
) -> None:
    for prop, sub in schema.get("properties", {}).items():
        if not isinstance(sub, dict):
            continue
        header = sub.get("x-mcp-header")
        if isinstance(header, str):
            found[header.lower()] = (*path, prop)
        _collect_headers(sub, (*path, prop), found)


def _doc(fn: Callable[..., Any]) -> str | None:
    import inspect

    doc = inspect.getdoc(fn)
    return doc or None
