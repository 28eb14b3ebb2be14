"""Content blocks for tool results, prompt messages and resource contents.

Plain functions that return wire-shaped dicts: ``text("hi")`` is exactly the JSON the
client receives, so there is nothing to learn between the helper and the spec.
"""

import base64
from typing import Any, Literal

Content = dict[str, Any]
Role = Literal["user", "assistant"]


def _b64(data: bytes | str) -> str:
    return data if isinstance(data, str) else base64.b64encode(data).decode("ascii")


def text(value: str, *, meta: dict[str, Any] | None = None) -> Content:
    block: Content = {"type": "text", "text": value}
    if meta:
        block["_meta"] = meta
    return block


def image(data: bytes | str, mime_type: str = "image/png") -> Content:
    """An image block; ``data`` is raw bytes or already base64-encoded text."""
    return {"type": "image", "data": _b64(data), "mimeType": mime_type}


def audio(data: bytes | str, mime_type: str = "audio/wav") -> Content:
    return {"type": "audio", "data": _b64(data), "mimeType": mime_type}


def resource_contents(
    uri: str, value: str | bytes, mime_type: str | None = None
) -> dict[str, Any]:
    """A ``TextResourceContents`` or ``BlobResourceContents`` for ``uri``."""
    contents: dict[str, Any] = {"uri": uri}
    if mime_type:
        contents["mimeType"] = mime_type
    if isinstance(value, str):
        contents["text"] = value
    else:
        contents["blob"] = _b64(value)
    return contents


def embedded_resource(uri: str, value: str | bytes, mime_type: str | None = None) -> Content:
    """A resource embedded in a tool result or prompt message."""
    return {"type": "resource", "resource": resource_contents(uri, value, mime_type)}


def resource_link(
    uri: str,
    name: str,
    *,
    description: str | None = None,
    mime_type: str | None = None,
) -> Content:
    block: Content = {"type": "resource_link", "uri": uri, "name": name}
    if description:
        block["description"] = description
    if mime_type:
        block["mimeType"] = mime_type
    return block


def message(role: Role, content: Content | str) -> dict[str, Any]:
    """A prompt message; a plain string becomes a text block."""
    return {"role": role, "content": text(content) if isinstance(content, str) else content}


def is_content(value: object) -> bool:
    return isinstance(value, dict) and isinstance(value.get("type"), str) and (
        value["type"] in {"text", "image", "audio", "resource", "resource_link"}
    )
