"""Resources at fixed URIs and URI templates (RFC 6570 level 1: ``{name}`` segments)."""

import json
import re
from collections.abc import Callable
from typing import Any

from ..protocol.caching import CachePolicy, CacheScope
from ..protocol.context import Context
from ..protocol.meta import PLACEMENT
from ..schema.lock import item_digest
from .content import resource_contents
from .policy import Placement, check_placement
from .signature import FunctionSignature

_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class Resource:
    """A resource at one fixed URI."""

    def __init__(
        self,
        fn: Callable[..., Any],
        uri: str,
        *,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        mime_type: str | None = None,
        cache_ttl: float | None = None,
        cache_scope: CacheScope = "private",
        placement: Placement = "any",
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.uri = uri
        self.placement = check_placement(placement)
        self.name = name or fn.__name__
        self.title = title
        self.description = description if description is not None else (fn.__doc__ or None)
        self.mime_type = mime_type
        self.cache = CachePolicy.from_seconds(cache_ttl, cache_scope)
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

    def __init__(self, fn: Callable[..., Any], uri_template: str, **options: Any) -> None:
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
