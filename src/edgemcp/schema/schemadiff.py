"""Compare two JSON Schemas and say which differences break the other side.

Direction decides what "breaking" means. An INPUT schema says what the server accepts: any
change that rejects a call that used to be valid (narrowing) breaks callers. An OUTPUT schema
says what the server may return: any change that lets it return something the old schema
ruled out (widening) breaks clients reading the result. So every keyword difference is
classified as narrowed, widened or changed (neither contains the other), and the direction
turns that into breaking or compatible. Properties get named rules on top (a removed
parameter, a new required one, a likely rename), because that is how people think of them.

Local ``$ref`` (``#/$defs/...``, ``#/definitions/...``, any JSON pointer into the same
document) is followed with cycle protection; nothing is ever fetched: a remote or unresolvable
reference is compared as text.
"""

from fractions import Fraction
from typing import Any, Literal
from urllib.parse import unquote

from .changes import Change, Kind
from .objects import compare_objects
from .unions import (
    allowed_values,
    branch_type,
    describe,
    json_text,
    match_branches,
    show,
    split_types,
)

Direction = Literal["input", "output"]
Effect = Literal["narrowed", "widened", "changed", "note"]

# Keywords that describe but do not constrain: a change is worth reporting, never a break.
ANNOTATIONS = ("title", "description", "default", "examples", "deprecated", "readOnly",
               "writeOnly", "$comment")
# Keywords this module interprets itself; any other keyword is compared as text.
_HANDLED = frozenset({
    *ANNOTATIONS, "$schema", "$id", "$anchor", "$defs", "definitions", "$ref", "type", "enum",
    "const", "anyOf", "oneOf", "nullable", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "multipleOf", "minLength", "maxLength", "pattern", "format", "items",
    "prefixItems", "minItems", "maxItems", "uniqueItems", "properties", "required",
    "additionalProperties", "minProperties", "maxProperties",
})
_WHY = {
    "input": "calls that were valid may now be rejected",
    "output": "clients may now receive values the old schema ruled out",
}
_MAX_DEPTH = 64
_OPAQUE = "\0opaque"  # a $ref we cannot (or must not) follow
Bound = tuple[Fraction, bool]  # (limit, exclusive)


def _as_schema(value: Any) -> dict[str, Any]:
    """Boolean schemas as objects: ``true`` is ``{}``, ``false`` is ``{"not": {}}``."""
    if value is True or value is None:
        return {}
    if value is False:
        return {"not": {}}
    return value if isinstance(value, dict) else {}


class SchemaDiff:
    """The differences between ``old`` and ``new`` schemas of one item, as ``Change``s."""

    def __init__(self, item: str, direction: Direction, old_root: Any, new_root: Any, root: str) -> None:
        self.item = item
        self.direction = direction
        self.roots = (old_root, new_root)
        self.root = root  # the path of the whole schema, e.g. "inputSchema"
        self.changes: list[Change] = []
        self._following: set[tuple[str, str]] = set()  # $ref pairs being compared: cycles

    def run(self) -> list[Change]:
        self.compare(self.roots[0], self.roots[1], self.root)
        return self.changes

    # -- recording -----------------------------------------------------------------------
    def record(self, kind: Kind, path: str, message: str) -> None:
        change = Change(kind, self.item, path, message)
        if change not in self.changes:
            self.changes.append(change)

    def effect(self, effect: Effect, path: str, message: str) -> None:
        breaking = effect == "changed" or effect == {"input": "narrowed", "output": "widened"}[self.direction]
        if breaking:
            self.record("breaking", path, f"{message} ({_WHY[self.direction]})")
        else:
            self.record("compatible", path, message)

    # -- $ref ----------------------------------------------------------------------------
    def _resolve(self, schema: Any, side: int) -> tuple[dict[str, Any], str | None]:
        """The schema with local ``$ref`` chains followed (siblings of ``$ref`` kept), and the
        first reference followed; ``_OPAQUE`` when a reference cannot be followed."""
        current = _as_schema(schema)
        first: str | None = None
        for _ in range(32):
            ref = current.get("$ref")
            if not isinstance(ref, str):
                return current, first
            target = self._pointer(ref, side)
            if target is None:
                return current, _OPAQUE
            first = first or ref
            siblings = {k: v for k, v in current.items() if k != "$ref"}
            current = {**_as_schema(target), **siblings}
        return current, _OPAQUE  # a reference chain that never ends

    def _pointer(self, ref: str, side: int) -> Any:
        if not ref.startswith("#"):
            return None  # remote: never fetched
        node: Any = self.roots[side]
        for raw in ref[1:].lstrip("/").split("/") if ref not in ("#", "#/") else []:
            part = unquote(raw).replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return None
        return node

    # -- the walk ------------------------------------------------------------------------
    def compare(self, old: Any, new: Any, path: str, depth: int = 0) -> None:
        if depth > _MAX_DEPTH:
            return
        o, old_ref = self._resolve(old, 0)
        n, new_ref = self._resolve(new, 1)
        if _OPAQUE in (old_ref, new_ref):
            if json_text(old) != json_text(new):
                self.effect("changed", path, "a $ref that cannot be followed (only local references are) changed")
            return
        pair = (old_ref or "", new_ref or "")
        if pair != ("", ""):
            if pair in self._following:
                return  # a recursive schema: this pair is already being compared further up
            self._following.add(pair)
        try:
            self._compare_resolved(o, n, path, depth)
        finally:
            self._following.discard(pair)

    def _compare_resolved(self, o: dict[str, Any], n: dict[str, Any], path: str, depth: int) -> None:
        for key in ANNOTATIONS:
            was, now = o.get(key), n.get(key)
            if json_text(was) != json_text(now):
                # Prose is named, not quoted; short values are shown.
                quoted = key not in ("title", "description", "examples", "$comment")
                detail = f" from {show(was)} to {show(now)}" if quoted else ""
                self.effect("note", f"{path}.{key}", f"{key} changed{detail}")
        old_branches, new_branches = self._branches(o, 0), self._branches(n, 1)
        if len(old_branches) == 1 and len(new_branches) == 1:
            self._compare_branch(old_branches[0], new_branches[0], path, depth)
        else:
            self._compare_union(old_branches, new_branches, path, depth)

    # -- unions and nullability ----------------------------------------------------------
    def _branches(self, schema: dict[str, Any], side: int, depth: int = 0) -> list[dict[str, Any]]:
        """The schema as alternatives of one type each: ``anyOf``/``oneOf`` branches, type
        lists and OpenAPI ``nullable`` all become the same shape, so ``["string", "null"]``
        and ``anyOf: [{string}, {null}]`` compare equal."""
        base = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf", "nullable", *ANNOTATIONS)}
        union = schema.get("anyOf", schema.get("oneOf"))
        out: list[dict[str, Any]] = []
        if isinstance(union, list) and union and depth < 8:
            for member in union:
                resolved, _ = self._resolve(member, side)
                merged = {**base, **{k: v for k, v in resolved.items() if k not in ANNOTATIONS}}
                out.extend(self._branches(merged, side, depth + 1))
        else:
            out.extend(split_types(base))
        if schema.get("nullable") is True and not any(b.get("type") == "null" for b in out):
            out.append({"type": "null"})
        return out

    def _compare_union(self, old: list[dict[str, Any]], new: list[dict[str, Any]], path: str, depth: int) -> None:
        pairs, removed, added = match_branches(old, new)
        several = len({branch_type(b) for b in new if branch_type(b) != "null"}) > 1
        for o, n in pairs:
            label = f"{path}.anyOf[{branch_type(n)}]" if several else path
            self._compare_branch(o, n, label, depth)
        for branch in removed:
            if branch_type(branch) == "null":
                self.effect("narrowed", path, "null is no longer allowed")
            else:
                self.effect("narrowed", path, f"alternative {describe(branch)} removed")
        for branch in added:
            if branch_type(branch) == "null":
                self.effect("widened", path, "null is now allowed")
            else:
                self.effect("widened", path, f"alternative {describe(branch)} added")

    # -- one alternative -----------------------------------------------------------------
    def _compare_branch(self, o: dict[str, Any], n: dict[str, Any], path: str, depth: int) -> None:
        old_type, new_type = o.get("type"), n.get("type")
        if old_type != new_type:
            if old_type is None:
                self.effect("narrowed", f"{path}.type", f"type restricted to {new_type}")
            elif new_type is None:
                self.effect("widened", f"{path}.type", f"type {old_type} no longer enforced")
            elif (old_type, new_type) == ("integer", "number"):
                self.effect("widened", f"{path}.type", "type widened from integer to number")
            elif (old_type, new_type) == ("number", "integer"):
                self.effect("narrowed", f"{path}.type", "type narrowed from number to integer")
            else:
                self.effect("changed", f"{path}.type", f"type changed from {old_type} to {new_type}")
                return  # the other keywords constrain values that no longer meet
        self._values(o, n, path)
        self._bounds(o, n, path)
        self._strings(o, n, path)
        self._arrays(o, n, path, depth)
        if any(k in o or k in n for k in ("properties", "required", "additionalProperties")):
            compare_objects(self, o, n, path, depth)
        self._others(o, n, path)

    def _values(self, o: dict[str, Any], n: dict[str, Any], path: str) -> None:
        old, new = allowed_values(o), allowed_values(n)
        where = f"{path}.{'const' if 'const' in n or ('const' in o and 'enum' not in n) else 'enum'}"
        if old is None and new is None:
            return
        if old is None:
            self.effect("narrowed", where, f"now limited to {show(new)}")
        elif new is None:
            self.effect("widened", where, f"no longer limited to {show(old)}")
        else:
            old_keys, new_keys = {json_text(v): v for v in old}, {json_text(v): v for v in new}
            gone = [v for k, v in old_keys.items() if k not in new_keys]
            came = [v for k, v in new_keys.items() if k not in old_keys]
            if gone:
                self.effect("narrowed", where, f"{_values_text(gone)} removed")
            if came:
                self.effect("widened", where, f"{_values_text(came)} added")

    def _bounds(self, o: dict[str, Any], n: dict[str, Any], path: str) -> None:
        for lower, keys, label in (
            (True, ("minimum", "exclusiveMinimum"), "lower bound"),
            (False, ("maximum", "exclusiveMaximum"), "upper bound"),
            (True, ("minLength",), "minLength"),
            (False, ("maxLength",), "maxLength"),
            (True, ("minItems",), "minItems"),
            (False, ("maxItems",), "maxItems"),
            (True, ("minProperties",), "minProperties"),
            (False, ("maxProperties",), "maxProperties"),
        ):
            old, new = _bound(o, keys, lower), _bound(n, keys, lower)
            if old == new:
                continue
            keyword = next((k for k in keys if k in n), next((k for k in keys if k in o), keys[0]))
            where = f"{path}.{keyword}"
            if old is None:
                self.effect("narrowed", where, f"{label} {_show_bound(new)} added")
            elif new is None:
                self.effect("widened", where, f"{label} {_show_bound(old)} removed")
            else:
                tighter = _tighter(new, old, lower)
                verb = ("raised" if lower else "lowered") if tighter else ("lowered" if lower else "raised")
                self.effect("narrowed" if tighter else "widened", where,
                            f"{label} {verb} from {_show_bound(old)} to {_show_bound(new)}")
        self._multiple_of(o.get("multipleOf"), n.get("multipleOf"), f"{path}.multipleOf")

    def _multiple_of(self, old: Any, new: Any, where: str) -> None:
        if old == new or not all(v is None or isinstance(v, int | float) for v in (old, new)):
            return
        if old is None:
            self.effect("narrowed", where, f"multipleOf {new} added")
        elif new is None:
            self.effect("widened", where, f"multipleOf {old} removed")
        else:
            ratio = Fraction(str(new)) / Fraction(str(old))
            if ratio.denominator == 1:
                self.effect("narrowed", where, f"multipleOf changed from {old} to {new}")
            elif ratio.numerator == 1:
                self.effect("widened", where, f"multipleOf changed from {old} to {new}")
            else:
                self.effect("changed", where, f"multipleOf changed from {old} to {new}")

    def _strings(self, o: dict[str, Any], n: dict[str, Any], path: str) -> None:
        for key in ("pattern", "format"):
            self._constraint(key, o.get(key), n.get(key), f"{path}.{key}")

    def _constraint(self, key: str, old: Any, new: Any, where: str) -> None:
        """A constraint compared as text: added narrows, removed widens, changed is both."""
        if json_text(old) == json_text(new):
            return
        if old is None:
            self.effect("narrowed", where, f"{key} {show(new)} added")
        elif new is None:
            self.effect("widened", where, f"{key} {show(old)} removed")
        else:
            self.effect("changed", where, f"{key} changed from {show(old)} to {show(new)}")

    def _arrays(self, o: dict[str, Any], n: dict[str, Any], path: str, depth: int) -> None:
        if bool(o.get("uniqueItems")) != bool(n.get("uniqueItems")):
            unique = bool(n.get("uniqueItems"))
            self.effect("narrowed" if unique else "widened", f"{path}.uniqueItems",
                        f"uniqueItems {'added' if unique else 'removed'}")
        old_items, new_items = o.get("items"), n.get("items")
        # Draft 4-7 tuples (``items`` as a list) are 2020-12 ``prefixItems``.
        old_prefix = old_items if isinstance(old_items, list) else o.get("prefixItems")
        new_prefix = new_items if isinstance(new_items, list) else n.get("prefixItems")
        if isinstance(old_prefix, list) or isinstance(new_prefix, list):
            old_list, new_list = old_prefix or [], new_prefix or []
            for i in range(max(len(old_list), len(new_list))):
                self.compare(old_list[i] if i < len(old_list) else True,
                             new_list[i] if i < len(new_list) else True, f"{path}.prefixItems[{i}]", depth + 1)
        if isinstance(old_items, list) or isinstance(new_items, list):
            return
        if old_items is not None or new_items is not None:
            self.compare(old_items if old_items is not None else True,
                         new_items if new_items is not None else True, f"{path}.items", depth + 1)

    def _others(self, o: dict[str, Any], n: dict[str, Any], path: str) -> None:
        for key in sorted((o.keys() | n.keys()) - _HANDLED):
            if key.startswith("x-"):
                if json_text(o.get(key)) != json_text(n.get(key)):
                    self.effect("note", f"{path}.{key}", f"{key} changed")
            else:
                self._constraint(key, o.get(key), n.get(key), f"{path}.{key}")

    def type_signature(self, schema: Any, side: int) -> tuple[str, ...]:
        """The types a schema allows, for spotting a renamed parameter of the same type."""
        resolved, _ = self._resolve(schema, side)
        return tuple(sorted({branch_type(b) for b in self._branches(resolved, side)}))


# -- helpers ---------------------------------------------------------------------------------
def _bound(schema: dict[str, Any], keys: tuple[str, ...], lower: bool) -> Bound | None:
    """The effective bound of ``keys`` (inclusive keyword first, then its exclusive one),
    with draft-4 boolean ``exclusiveMinimum``/``exclusiveMaximum`` understood."""
    best: Bound | None = None
    inclusive = schema.get(keys[0])
    if isinstance(inclusive, int | float) and not isinstance(inclusive, bool):
        best = (Fraction(str(inclusive)), schema.get(keys[1]) is True if len(keys) > 1 else False)
    if len(keys) > 1:
        exclusive = schema.get(keys[1])
        if isinstance(exclusive, int | float) and not isinstance(exclusive, bool):
            candidate = (Fraction(str(exclusive)), True)
            if best is None or _tighter(candidate, best, lower):
                best = candidate
    return best


def _tighter(a: Bound, b: Bound, lower: bool) -> bool:
    """Does bound ``a`` admit fewer values than ``b``?"""
    if a[0] != b[0]:
        return a[0] > b[0] if lower else a[0] < b[0]
    return a[1] and not b[1]


def _values_text(values: list[Any]) -> str:
    return f"value {show(values[0])}" if len(values) == 1 else f"values {show(values)}"


def _show_bound(bound: Bound | None) -> str:
    if bound is None:
        return "none"
    value = bound[0]
    text = str(value.numerator) if value.denominator == 1 else str(float(value))
    return f"{text} (exclusive)" if bound[1] else text
