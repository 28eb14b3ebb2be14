"""Opaque list cursors. Clients must not parse them; we still refuse one we did not mint."""

import base64
import binascii
from collections.abc import Sequence
from typing import Any, TypeVar

from .errors import invalid_params

T = TypeVar("T")
_PREFIX = "o:"


def paginate(
    items: Sequence[T], cursor: Any, page_size: int
) -> tuple[Sequence[T], str | None]:
    """One page of ``items`` starting at ``cursor``, and the cursor of the next page."""
    start = 0 if cursor is None else _decode(cursor)
    if start > len(items):
        raise invalid_params("Invalid cursor")
    if page_size <= 0:
        return items[start:], None
    end = start + page_size
    following = _encode(end) if end < len(items) else None
    return items[start:end], following


def _encode(offset: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{offset}".encode()).decode().rstrip("=")


def _decode(cursor: Any) -> int:
    if not isinstance(cursor, str) or len(cursor) > 64:
        raise invalid_params("Invalid cursor")
    try:
        decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid_params("Invalid cursor") from None
    if not decoded.startswith(_PREFIX) or not decoded[len(_PREFIX):].isdigit():
        raise invalid_params("Invalid cursor")
    return int(decoded[len(_PREFIX):])
