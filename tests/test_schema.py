"""``edgemcp schema``: the lock document and its digests, and the JSON Schema comparator."""

import hashlib
import json
from typing import Any

import pytest

from edgemcp.schema import item_digest, surface_digest
from edgemcp.schema.changes import Change
from edgemcp.schema.compare import compare_surfaces
from edgemcp.schema.lock import build_lock, dumps
from edgemcp.schema.schemadiff import SchemaDiff

# -- the comparator --------------------------------------------------------------------------
TREE = {"$defs": {"Node": {"type": "object", "properties": {
    "label": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}}},
    "type": "object", "properties": {"root": {"$ref": "#/$defs/Node"}}}


def _retyped_tree() -> dict[str, Any]:
    tree = json.loads(json.dumps(TREE))
    tree["$defs"]["Node"]["properties"]["label"] = {"type": "integer"}
    return tree


SCHEMA_CASES: list[tuple[str, Any, Any, str, list[tuple[str, str]]]] = [
    # (name, old, new, direction, [(kind, path)] expected, exactly)
    ("recursive $ref, unchanged", TREE, TREE, "input", []),
    ("recursive $ref, leaf retyped", TREE, _retyped_tree(), "input",
     [("breaking", "s.properties.root.properties.label.type")]),
    ("draft-7 definitions", {"definitions": {"A": {"type": "string"}}, "properties": {"a": {"$ref": "#/definitions/A"}}},
     {"definitions": {"A": {"type": "string", "maxLength": 5}}, "properties": {"a": {"$ref": "#/definitions/A"}}},
     "input", [("breaking", "s.properties.a.maxLength")]),
    ("remote $ref is never fetched", {"$ref": "https://example.com/a.json"}, {"$ref": "https://example.com/b.json"},
     "input", [("breaking", "s")]),
    ("remote $ref unchanged", {"$ref": "https://example.com/a.json"}, {"$ref": "https://example.com/a.json"}, "input", []),
    ("type list and anyOf null are one thing", {"type": ["string", "null"]},
     {"anyOf": [{"type": "string"}, {"type": "null"}]}, "input", []),
    ("OpenAPI nullable dropped", {"type": "string", "nullable": True}, {"type": "string"}, "input",
     [("breaking", "s")]),
    ("draft-4 boolean exclusiveMaximum", {"type": "number", "maximum": 10},
     {"type": "number", "maximum": 10, "exclusiveMaximum": True}, "input", [("breaking", "s.maximum")]),
    ("exclusive bound made inclusive", {"type": "number", "exclusiveMinimum": 0}, {"type": "number", "minimum": 0},
     "input", [("compatible", "s.minimum")]),
    ("multipleOf 2 -> 4", {"type": "integer", "multipleOf": 2}, {"type": "integer", "multipleOf": 4}, "input",
     [("breaking", "s.multipleOf")]),
    ("multipleOf 4 -> 2", {"type": "integer", "multipleOf": 4}, {"type": "integer", "multipleOf": 2}, "input",
     [("compatible", "s.multipleOf")]),
    ("pattern added", {"type": "string"}, {"type": "string", "pattern": "^[a-z]+$"}, "input",
     [("breaking", "s.pattern")]),
    ("array items narrowed", {"type": "array", "items": {"type": "number"}}, {"type": "array", "items": {"type": "integer"}},
     "input", [("breaking", "s.items.type")]),
    ("minItems raised", {"type": "array", "minItems": 0}, {"type": "array", "minItems": 1}, "input",
     [("breaking", "s.minItems")]),
    ("oneOf branch added", {"oneOf": [{"type": "string"}, {"type": "integer"}]},
     {"oneOf": [{"type": "string"}, {"type": "integer"}, {"type": "boolean"}]}, "input", [("compatible", "s")]),
    ("output property no longer required", {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
     {"type": "object", "properties": {"a": {"type": "string"}}}, "output", [("breaking", "s.properties.a")]),
    ("output additionalProperties closed", {"type": "object"}, {"type": "object", "additionalProperties": False},
     "output", [("compatible", "s.additionalProperties")]),
]


@pytest.mark.parametrize(("old", "new", "direction", "expected"), [c[1:] for c in SCHEMA_CASES],
                         ids=[c[0] for c in SCHEMA_CASES])
def test_schema_comparison(old: Any, new: Any, direction: Any, expected: list[tuple[str, str]]) -> None:
    changes: list[Change] = SchemaDiff("tool 't'", direction, old, new, "s").run()
    assert [(c.kind, c.path) for c in changes] == expected, changes


@pytest.mark.parametrize(("old", "new", "expected"), [
    ({}, {"execution": {"taskSupport": "required"}}, ("breaking", "execution.taskSupport")),
    ({"execution": {"taskSupport": "required"}}, {"execution": {"taskSupport": "optional"}},
     ("compatible", "execution.taskSupport")),
    ({"_meta": {"dev.edgemcp/dryRun": True}}, {}, ("breaking", "_meta.dev.edgemcp/dryRun")),
    ({"_meta": {"dev.edgemcp/scopes": ["a", "b"]}}, {"_meta": {"dev.edgemcp/scopes": ["a"]}},
     ("compatible", "_meta.dev.edgemcp/scopes")),
    ({"_meta": {"dev.edgemcp/rateLimit": {"limit": 5, "periodSeconds": 60, "per": "agent"}}},
     {"_meta": {"dev.edgemcp/rateLimit": {"limit": 1, "periodSeconds": 60, "per": "agent"}}},
     ("compatible", "_meta.dev.edgemcp/rateLimit")),
    ({"outputSchema": {"type": "object"}}, {}, ("breaking", "outputSchema")),
], ids=["task support required", "task support relaxed", "dry run withdrawn", "scope dropped",
        "rate limit tightened", "output schema removed"])
def test_tool_policy_changes(old: dict[str, Any], new: dict[str, Any], expected: tuple[str, str]) -> None:
    def lock(**fields: Any) -> dict[str, Any]:
        tool = {"name": "t", "inputSchema": {"type": "object"}, **fields}
        return build_lock({"name": "s", "version": "1"}, {"tools": [tool]})

    changes = compare_surfaces(lock(**old), lock(**new))
    assert [(c.kind, c.path) for c in changes] == [expected], changes


# -- the lock document and its digests -------------------------------------------------------
def _canonical_sha256(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_digests_are_sha256_of_canonical_json() -> None:
    tool = {"name": "café", "inputSchema": {"type": "object", "required": ["b", "a"]}}
    assert item_digest(tool) == _canonical_sha256({"name": "café", "inputSchema": {"type": "object",
                                                                                     "required": ["a", "b"]}})
    # What one response adds (and the digest itself) is not part of the contract.
    stamped = {**tool, "_meta": {"io.modelcontextprotocol/serverInfo": {}, "dev.edgemcp/schemaDigest": "x"}}
    assert item_digest(stamped) == item_digest(tool)
    assert item_digest({**tool, "_meta": {"dev.edgemcp/placement": "edge"}}) != item_digest(tool)
    digests = {"tools": {"a": "sha256:1", "b": "sha256:2"}}
    assert surface_digest(digests) == _canonical_sha256(digests)
    assert surface_digest({"prompts": {}, "tools": {"b": "sha256:2", "a": "sha256:1"}}) == surface_digest(digests)


def test_lock_is_stable_under_reordering() -> None:
    def tool(name: str, required: list[str]) -> dict[str, Any]:
        return {"name": name, "inputSchema": {"type": "object", "required": required,
                                              "properties": {"x": {"type": "string"}, "y": {}}}}

    forward = [tool(n, ["x", "y"]) for n in ("a", "b", "c")]
    backward = [dict(reversed(tool(n, ["y", "x"]).items())) for n in ("c", "b", "a")]
    server = {"name": "s", "version": "1"}
    text = dumps(build_lock(server, {"tools": forward}))
    assert text == dumps(build_lock(server, {"tools": backward}))
    # Readable in review: sorted keys, two-space indent, one key per line.
    assert text.startswith('{\n  "digest": "sha256:') and '\n  "lockVersion": 1,\n' in text
