"""Resources at fixed URIs and URI templates (RFC 6570 level 1: ``{name}`` segments)."""

import json
import re
from collections.abc import Callable
from typing import Any, TypedDict, Unpack

from ..protocol.caching import CachePolicy, CacheScope
from ..protocol.context import Context
from ..protocol.meta import PLACEMENT
from ..schema.lock import item_digest
from .content import resource_contents
from .policy import Placement, check_placement
from .signature import FunctionSignature

_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ResourceOptions(TypedDict, total=False):
    """What ``@app.resource(uri, ...)`` accepts, declared once for the decorator and the resource."""

    name: str | None  # default: the function's name
    title: str | None
    description: str | None  # default: the docstring
    mime_type: str | None
    cache_ttl: float | None  # seconds a read stays fresh for clients (2026-07-28 ttlMs)
    cache_scope: CacheScope  # "private" (default) or "public"
    placement: Placement  # "edge", "core" or "any" (default): where it is read when split
    meta: dict[str, Any] | None  # extra _meta on the definition


class Resource:
    """A resource at one fixed URI."""

    def __init__(self, fn: Callable[..., Any], uri: str, **options: Unpack[ResourceOptions]) -> None:
        self.uri = uri
        placement = check_placement(options.get("placement", "any"))
        self.placement = placement
        self.name = options.get("name") or fn.__name__
        self.title = options.get("title")
        description = options.get("description")
        self.description = description if description is not None else (fn.__doc__ or None)
        self.mime_type = options.get("mime_type")
        self.cache = CachePolicy.from_seconds(options.get("cache_ttl"), options.get("cache_scope", "private"))
        meta = options.get("meta")
        self.signature = FunctionSignature(fn, name=self.name)
        # Placement is advertised only when declared: "any" is every resource's default.
        self.meta = {**(meta or {}), PLACEMENT: placement} if placement != "any" else meta
        self.definition = self._describe({"uri": uri})
        self.digest = item_digest(self.definition)

    def _describe(self, base: dict[str, Any]) -> dict[str, Any]:
        base["name"] = self.name
        if self.title:
            base["title"] = self.title
        if self.description:
            base["description"] = self.description.strip()
        if self.mime_type:
            base["mimeType"] = self.mime_type
        if self.meta:
            base["_meta"] = self.meta
        return base

    async def read(self, uri: str, variables: dict[str, str], ctx: Context) -> list[dict[str, Any]]:
        kwargs = self.signature.bind(variables, ctx)
        value = await self.signature.call(kwargs)
        return to_contents(uri, value, self.mime_type)


class ResourceTemplate(Resource):
    """Resources named by a URI template such as ``users://{id}/profile``."""

    def __init__(self, fn: Callable[..., Any], uri_template: str, **options: Unpack[ResourceOptions]) -> None:
        super().__init__(fn, uri_template, **options)
        self.uri_template = uri_template
        self.definition = self._describe({"uriTemplate": uri_template})
        self.digest = item_digest(self.definition)
        self.variables = _VARIABLE.findall(uri_template)
        parts = _VARIABLE.split(uri_template)
        # Even parts are literals, odd parts variable names; a variable never spans a "/".
        pattern = "".join(
            re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts)
        )
        self.pattern = re.compile(f"^{pattern}$")

    def match(self, uri: str) -> dict[str, str] | None:
        found = self.pattern.match(uri)
        return found.groupdict() if found else None


def is_template(uri: str) -> bool:
    return bool(_VARIABLE.search(uri))


def to_contents(uri: str, value: Any, mime_type: str | None) -> list[dict[str, Any]]:
    if isinstance(value, str | bytes):
        return [resource_contents(uri, value, mime_type)]
    if isinstance(value, dict) and "uri" in value and ("text" in value or "blob" in value):
        return [value]
    if isinstance(value, list) and all(isinstance(v, dict) and "uri" in v for v in value):
        return value
    return [resource_contents(uri, json.dumps(value, ensure_ascii=False, default=str),
                              mime_type or "application/json")]
