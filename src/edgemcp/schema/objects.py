"""The object rules of the schema comparison: properties, ``required`` and
``additionalProperties``.

These get named rules rather than plain narrowed/widened: with ``additionalProperties``
open, removing a parameter technically widens an input schema, yet every prompt that passes
it is now wrong. So, for inputs: a removed or renamed parameter, a new required one and an
optional one made required are breaks; for outputs: a removed property, or one no longer
required, is a break; a new output property is not.
"""

from typing import Any, Protocol

from .changes import Kind


class SchemaDiff(Protocol):
    """What these rules need of the schema walk (``schemadiff.SchemaDiff``); a Protocol, so
    that the two modules do not import each other."""

    @property
    def direction(self) -> str: ...  # "input" or "output"
    @property
    def root(self) -> str: ...  # the path of the whole schema, e.g. "inputSchema"

    def record(self, kind: Kind, path: str, message: str) -> None: ...
    def effect(self, effect: Any, path: str, message: str) -> None: ...
    def compare(self, old: Any, new: Any, path: str, depth: int = 0) -> None: ...
    def type_signature(self, schema: Any, side: int) -> tuple[str, ...]: ...


def _properties(schema: dict[str, Any]) -> dict[str, Any]:
    found = schema.get("properties")
    return found if isinstance(found, dict) else {}


def _required(schema: dict[str, Any]) -> set[str]:
    found = schema.get("required")
    return {r for r in found if isinstance(r, str)} if isinstance(found, list) else set()


def compare_objects(diff: SchemaDiff, o: dict[str, Any], n: dict[str, Any], path: str, depth: int) -> None:
    old_props, new_props = _properties(o), _properties(n)
    old_req, new_req = _required(o), _required(n)
    removed = [k for k in old_props if k not in new_props]
    added = [k for k in new_props if k not in old_props]
    noun = "parameter" if diff.direction == "input" and path == diff.root else "property"
    if diff.direction == "input":
        _input_properties(diff, path, noun, (old_props, new_props), removed, added, (old_req, new_req))
    else:
        for name in removed:
            diff.record("breaking", f"{path}.properties.{name}",
                        f"output property '{name}' removed (clients reading it break)")
        for name in added:
            diff.record("compatible", f"{path}.properties.{name}", f"new output property '{name}'")
    for name in old_props:
        if name not in new_props:
            continue
        where = f"{path}.properties.{name}"
        diff.compare(old_props[name], new_props[name], where, depth + 1)
        _required_change(diff, where, f"{noun} '{name}'", name in old_req, name in new_req)
    described = old_props.keys() | new_props.keys()
    for name in sorted((new_req - old_req) - described):
        diff.effect("narrowed", f"{path}.required", f"'{name}' is now required")
    for name in sorted((old_req - new_req) - described):
        diff.effect("widened", f"{path}.required", f"'{name}' is no longer required")
    _additional(diff, o.get("additionalProperties", True), n.get("additionalProperties", True), path, depth)


def _input_properties(
    diff: SchemaDiff, path: str, noun: str, props: tuple[dict[str, Any], dict[str, Any]],
    removed: list[str], added: list[str], required: tuple[set[str], set[str]],
) -> None:
    (old_props, new_props), (old_req, new_req) = props, required
    added = list(added)  # a parameter paired as a rename is taken out: reported once
    unpaired = [a for a in added if a in new_req]
    for name in removed:
        # One required parameter gone and one of the same type required instead: most
        # likely a rename, which is what the reader needs to hear.
        renamed = None
        if name in old_req:
            signature = diff.type_signature(old_props.get(name), 0)
            renamed = next((a for a in unpaired if diff.type_signature(new_props.get(a), 1) == signature), None)
        where = f"{path}.properties.{name}"
        if renamed is not None:
            unpaired.remove(renamed)
            added.remove(renamed)
            diff.record("breaking", where, f"{noun} '{name}' removed and required {noun} '{renamed}' "
                                           f"added (renamed {name} -> {renamed}?); callers still pass '{name}'")
        else:
            diff.record("breaking", where, f"{noun} '{name}' removed (callers that pass it break)")
    for name in added:
        where = f"{path}.properties.{name}"
        if name in new_req:
            diff.record("breaking", where, f"new required {noun} '{name}' (existing calls do not pass it)")
        else:
            diff.record("compatible", where, f"new optional {noun} '{name}'")


def _required_change(diff: SchemaDiff, where: str, what: str, was: bool, now: bool) -> None:
    if was == now:
        return
    if diff.direction == "input":
        if now:
            diff.record("breaking", where, f"optional {what} is now required (calls that omit it are rejected)")
        else:
            diff.record("compatible", where, f"{what} is now optional")
    elif was:
        diff.record("breaking", where, f"output {what} is no longer required (clients may find it missing)")
    else:
        diff.record("compatible", where, f"output {what} is now always present")


def _additional(diff: SchemaDiff, old: Any, new: Any, path: str, depth: int) -> None:
    where = f"{path}.additionalProperties"
    if isinstance(old, dict) and isinstance(new, dict):
        diff.compare(old, new, where, depth + 1)
    elif old is False and new is not False:
        diff.effect("widened", where, "additionalProperties opened: unknown properties are now allowed")
    elif new is False and old is not False:
        diff.effect("narrowed", where, "additionalProperties closed: unknown properties are now rejected")
    elif isinstance(new, dict) and old is True:
        diff.effect("narrowed", where, "additionalProperties now constrained by a schema")
    elif isinstance(old, dict) and new is True:
        diff.effect("widened", where, "additionalProperties no longer constrained")
