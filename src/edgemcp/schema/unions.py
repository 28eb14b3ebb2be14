"""Alternatives in a JSON Schema: ``anyOf``/``oneOf`` branches and type lists, and how the
branches of an old and a new schema pair up.

A schema is compared as a list of branches of one type each, so that ``type: ["string",
"null"]``, ``anyOf: [{"type": "string"}, {"type": "null"}]`` and OpenAPI ``nullable`` are the
same thing, and so that a removed alternative is visible as such.
"""

from collections.abc import Callable
from typing import Any

from .lock import canonical_json

Branch = dict[str, Any]


def json_text(value: Any) -> str:
    return canonical_json(value).decode()


def show(value: Any) -> str:
    """A value for a message, cut short when long."""
    text = json_text(value)
    return text if len(text) <= 80 else text[:77] + "..."


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "unknown"


def split_types(schema: Branch) -> list[Branch]:
    """One branch per type of a type list; enum values go to the branch of their type."""
    declared = schema.get("type")
    if not isinstance(declared, list):
        return [schema]
    if len(declared) == 1:
        return [{**schema, "type": declared[0]}]
    branches = []
    for name in declared:
        branch = {**schema, "type": name}
        if isinstance(schema.get("enum"), list):
            branch["enum"] = [v for v in schema["enum"] if _fits(v, name)]
        branches.append(branch)
    return branches


def _fits(value: Any, type_name: str) -> bool:
    actual = json_type(value)
    return actual == type_name or (type_name == "number" and actual == "integer")


def branch_type(branch: Branch) -> str:
    declared = branch.get("type")
    if isinstance(declared, str):
        return declared
    values = allowed_values(branch)
    if values:
        kinds = {json_type(v) for v in values}
        if len(kinds) == 1:
            return kinds.pop()
    return "any"


def match_branches(
    old: list[Branch], new: list[Branch]
) -> tuple[list[tuple[Branch, Branch]], list[Branch], list[Branch]]:
    """Pair old and new alternatives: identical ones first, then by type (integer may pair
    with number); what is left was removed or added."""
    pairs: list[tuple[Branch, Branch]] = []
    left_old, left_new = list(old), list(new)
    same: Callable[[Branch, Branch], bool]
    for same in (
        lambda a, b: json_text(a) == json_text(b),
        lambda a, b: branch_type(a) == branch_type(b),
        lambda a, b: {branch_type(a), branch_type(b)} == {"integer", "number"},
    ):
        for o in list(left_old):
            match = next((n for n in left_new if same(o, n)), None)
            if match is not None:
                pairs.append((o, match))
                left_old.remove(o)
                left_new.remove(match)
    return pairs, left_old, left_new


def allowed_values(schema: Branch) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    values = schema.get("enum")
    return list(values) if isinstance(values, list) else None


def describe(branch: Branch) -> str:
    values = allowed_values(branch)
    return show(values[0]) if values and len(values) == 1 else branch_type(branch)
