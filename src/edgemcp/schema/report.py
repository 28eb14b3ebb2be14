"""How a check's changes are shown: a human diff, JSON for tools, or GitHub Actions
workflow commands (annotations on the lock file in the pull request)."""

import json
from collections.abc import Sequence
from typing import Literal

from .changes import Change

Format = Literal["human", "json", "github"]
FORMATS: tuple[Format, ...] = ("human", "json", "github")


def summary(changes: Sequence[Change]) -> str:
    breaking = sum(c.breaking for c in changes)
    compatible = len(changes) - breaking
    return f"{breaking} breaking, {compatible} compatible change{'s' if compatible != 1 else ''}"


def human(changes: Sequence[Change], lock: str) -> str:
    if not changes:
        return f"No changes: the surface matches {lock}."
    width = max(len(c.item) for c in changes)
    lines = [f"{'BREAKING  ' if c.breaking else 'compatible'}  {c.item:<{width}}  {c.path}: {c.message}"
             for c in changes]
    return "\n".join([*lines, f"{summary(changes)} against {lock}."])


def as_json(changes: Sequence[Change], lock: str, lock_digest: str, current_digest: str) -> str:
    return json.dumps({
        "lock": lock,
        "breaking": any(c.breaking for c in changes),
        "lockDigest": lock_digest,
        "currentDigest": current_digest,
        "changes": [{"kind": c.kind, "item": c.item, "path": c.path, "message": c.message} for c in changes],
    }, indent=2, ensure_ascii=False)


def github(changes: Sequence[Change], lock: str) -> str:
    """``::error``/``::notice`` commands, escaped as the Actions runner expects."""
    lines = []
    for change in changes:
        level, title = ("error", "Breaking MCP schema change") if change.breaking else ("notice", "MCP schema change")
        text = _escape_data(f"{change.item} {change.path}: {change.message}")
        lines.append(f"::{level} file={_escape_property(lock)},title={_escape_property(title)}::{text}")
    lines.append(f"{summary(changes)} against {lock}." if changes else f"No changes: the surface matches {lock}.")
    return "\n".join(lines)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(changes: Sequence[Change], fmt: Format, lock: str, lock_digest: str, current_digest: str) -> str:
    if fmt == "json":
        return as_json(changes, lock, lock_digest, current_digest)
    if fmt == "github":
        return github(changes, lock)
    return human(changes, lock)
