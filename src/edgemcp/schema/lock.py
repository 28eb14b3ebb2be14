"""The lock document: a server's surface as canonical JSON, with one digest per item and one
for the whole.

Pure functions and file I/O only (no network), so the protocol core can reuse
``item_digest`` and ``surface_digest`` to stamp ``_meta["dev.edgemcp/schemaDigest"]`` on list
results, and a client can compare that value with the lock.

Format (``lockVersion`` 1)::

    {"lockVersion": 1, "server": {"name": ..., "version": ...}, "digest": "sha256:...",
     "tools": {name: {"digest": "sha256:...", "definition": {...}}, ...},
     "prompts": {name: ...}, "resources": {uri: ...}, "resourceTemplates": {uriTemplate: ...}}
"""

import copy
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .errors import SchemaError

LOCK_VERSION = 1
# Each section of the surface, and the field that names an item in it.
SECTIONS: dict[str, str] = {
    "tools": "name",
    "prompts": "name",
    "resources": "uri",
    "resourceTemplates": "uriTemplate",
}
# What an item is called in messages.
ITEM_NOUNS: dict[str, str] = {
    "tools": "tool",
    "prompts": "prompt",
    "resources": "resource",
    "resourceTemplates": "resource template",
}
# ``_meta`` keys that describe one response, not the item's contract: they differ between
# requests, eras and transports, so they never enter a lock or a digest. The schema digest
# itself is excluded so that a definition carrying its own digest still hashes the same.
_VOLATILE_PREFIXES = ("io.modelcontextprotocol/",)
_VOLATILE_KEYS = frozenset({
    "dev.edgemcp/schemaDigest",
    "dev.edgemcp/correlationId",
    "dev.edgemcp/idempotency",
    "dev.edgemcp/idempotencyKey",
})
_CACHE_META = "dev.edgemcp/cache"


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the same value always gives the same bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _sha256(value: Any) -> str:
    return "sha256:" + hashlib.sha256(canonical_json(value)).hexdigest()


def normalise(definition: Mapping[str, Any]) -> dict[str, Any]:
    """The contract part of one item definition, in canonical form.

    Drops per-response ``_meta`` keys (and a cache *status* string, which only results
    carry) and sorts ``required`` lists inside schemas, whose order means nothing.
    """
    result = copy.deepcopy(dict(definition))
    meta = result.get("_meta")
    if isinstance(meta, dict):
        kept = {k: v for k, v in meta.items() if not _volatile(k, v)}
        if kept:
            result["_meta"] = kept
        else:
            del result["_meta"]
    for key in ("inputSchema", "outputSchema"):
        if key in result:
            result[key] = _sort_required(result[key])
    return result


def _volatile(key: str, value: Any) -> bool:
    if key in _VOLATILE_KEYS or key.startswith(_VOLATILE_PREFIXES):
        return True
    return key == _CACHE_META and not isinstance(value, dict)


def _sort_required(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_sort_required(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _sort_required(v) for k, v in schema.items()}
    required = schema.get("required")
    if isinstance(required, list) and all(isinstance(r, str) for r in required):
        out["required"] = sorted(required)
    return out


def item_digest(definition: Mapping[str, Any]) -> str:
    """``sha256:<hex>`` of one tool, prompt, resource or template definition, as a lock holds it."""
    return _sha256(normalise(definition))


def surface_digest(items: Mapping[str, Mapping[str, str]]) -> str:
    """``sha256:<hex>`` of a whole surface, from its item digests.

    ``items`` maps a section (``"tools"``, ``"prompts"``, ``"resources"``,
    ``"resourceTemplates"``) to ``{item name or URI: item_digest(...)}``. Empty sections
    count as absent, so a server without prompts hashes the same either way. Server name and
    version are not part of it: a version bump alone does not change the contract.
    """
    return _sha256({section: dict(digests) for section, digests in items.items() if digests})


def build_lock(server: Mapping[str, Any], lists: Mapping[str, Iterable[Mapping[str, Any]]]) -> dict[str, Any]:
    """The lock document of a surface: ``lists`` maps each section to its item definitions."""
    document: dict[str, Any] = {
        "lockVersion": LOCK_VERSION,
        "server": {"name": str(server.get("name", "")), "version": str(server.get("version", ""))},
    }
    for section, field in SECTIONS.items():
        entries: dict[str, Any] = {}
        for definition in lists.get(section, ()):
            key = definition.get(field)
            if not isinstance(key, str):
                raise SchemaError(f"the server lists a {ITEM_NOUNS[section]} without a string {field!r}")
            if key in entries:
                raise SchemaError(f"the server lists {ITEM_NOUNS[section]} {key!r} twice")
            clean = normalise(definition)
            entries[key] = {"digest": _sha256(clean), "definition": clean}
        document[section] = entries
    document["digest"] = _whole_digest(document)
    return document


def _whole_digest(document: Mapping[str, Any]) -> str:
    return surface_digest({s: {k: e["digest"] for k, e in document[s].items()} for s in SECTIONS})


def dumps(document: Mapping[str, Any]) -> str:
    """Pretty, sorted, 2-space JSON: the same surface gives the same file, diffable in review."""
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def write_lock(path: Path, document: Mapping[str, Any]) -> None:
    """Write atomically (temporary file, then rename), so a failed write never leaves half a lock."""
    directory = path.parent if str(path.parent) else Path(".")
    try:
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=directory, prefix=f".{path.name}.", delete=False
        ) as handle:
            handle.write(dumps(document))
        os.replace(handle.name, path)
    except OSError as exc:
        raise SchemaError(f"cannot write {path}: {exc.strerror or exc}") from None


def read_lock(path: Path) -> dict[str, Any]:
    """Read and validate a lock; anything wrong (unreadable, not JSON, wrong shape, a digest
    that does not match its content, i.e. a hand edit) is a ``SchemaError``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SchemaError(f"cannot read lock {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise SchemaError(f"lock {path} is not UTF-8 text") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaError(f"lock {path} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    problem = _validate(document)
    if problem is not None:
        raise SchemaError(f"lock {path} is invalid: {problem}; re-create it with `edgemcp schema lock`")
    return document  # type: ignore[no-any-return]  # checked by _validate


def _validate(document: Any) -> str | None:
    """What is wrong with a lock document, or None."""
    if not isinstance(document, dict):
        return "not a JSON object"
    if document.get("lockVersion") != LOCK_VERSION:
        return f"lockVersion is {document.get('lockVersion')!r}, expected {LOCK_VERSION}"
    server = document.get("server")
    if not isinstance(server, dict) or not all(isinstance(server.get(k), str) for k in ("name", "version")):
        return "server must be an object with string name and version"
    for section, field in SECTIONS.items():
        entries = document.get(section)
        if not isinstance(entries, dict):
            return f"{section} must be an object"
        for key, entry in entries.items():
            where = f"{section}[{key!r}]"
            if not isinstance(entry, dict) or not isinstance(entry.get("definition"), dict):
                return f"{where} must be an object with a definition"
            definition = entry["definition"]
            if definition.get(field) != key:
                return f"{where} has {field} {definition.get(field)!r}"
            if entry.get("digest") != _sha256(normalise(definition)):
                return f"{where} does not match its digest (edited by hand?)"
    if document.get("digest") != _whole_digest(document):
        return "the whole-surface digest does not match its items (edited by hand?)"
    return None
