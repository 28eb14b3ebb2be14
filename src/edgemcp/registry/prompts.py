"""Prompts: a function whose string arguments fill in a list of messages."""

from collections.abc import Callable
from typing import Any, TypedDict, Unpack

from ..protocol.context import Context
from ..protocol.meta import PLACEMENT
from ..schema.lock import item_digest
from .content import is_content, message, text
from .policy import Placement, check_placement
from .signature import FunctionSignature
from .tools import check_name


class PromptOptions(TypedDict, total=False):
    """What ``@app.prompt(...)`` accepts, declared once for the decorator and the prompt."""

    name: str | None  # default: the function's name
    title: str | None
    description: str | None  # default: the docstring
    placement: Placement  # "edge", "core" or "any" (default): where it renders when split
    meta: dict[str, Any] | None  # extra _meta on the definition


class Prompt:
    def __init__(self, fn: Callable[..., Any], **options: Unpack[PromptOptions]) -> None:
        self.name = check_name(options.get("name") or fn.__name__, "prompt")
        placement = check_placement(options.get("placement", "any"))
        self.placement = placement
        title, description, meta = options.get("title"), options.get("description"), options.get("meta")
        if placement != "any":  # advertised only when declared, as for resources
            meta = {**(meta or {}), PLACEMENT: placement}
        self.signature = FunctionSignature(fn, name=self.name)
        properties = self.signature.input_schema.get("properties", {})
        required = self.signature.required()
        arguments = []
        for arg in self.signature.parameters:
            entry: dict[str, Any] = {"name": arg, "required": arg in required}
            if "description" in properties.get(arg, {}):
                entry["description"] = properties[arg]["description"]
            arguments.append(entry)
        self.definition: dict[str, Any] = {"name": self.name, "arguments": arguments}
        self.description = description if description is not None else (fn.__doc__ or None)
        if title:
            self.definition["title"] = title
        if self.description:
            self.definition["description"] = self.description.strip()
        if meta:
            self.definition["_meta"] = meta
        self.digest = item_digest(self.definition)

    async def render(self, arguments: dict[str, Any], ctx: Context) -> dict[str, Any]:
        kwargs = self.signature.bind(arguments, ctx)
        value = await self.signature.call(kwargs)
        result: dict[str, Any] = {"messages": to_messages(value)}
        if self.description:
            result["description"] = self.description.strip()
        return result


def to_messages(value: Any) -> list[dict[str, Any]]:
    items = value if isinstance(value, list | tuple) else [value]
    messages = []
    for item in items:
        if isinstance(item, dict) and "role" in item and "content" in item:
            messages.append(item)
        elif isinstance(item, str) or is_content(item):
            messages.append(message("user", item))
        else:
            messages.append(message("user", text(str(item))))
    return messages
