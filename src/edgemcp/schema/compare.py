"""Compare two surfaces (lock documents) item by item: tools, prompts, resources, templates.

Schemas go to ``schemadiff`` (inputs narrowing, outputs widening = breaking). The rest of a
definition is judged here: removed items, annotations that promise less safety, edgemcp
policy metadata. Policy changes (placement, cache, rate limits) are reported as compatible:
they change how a call is served, not whether a valid call is accepted. The exceptions are
the ones that refuse calls that used to work: a new required scope, a withdrawn dry run, and
task support becoming required.
"""

from collections.abc import Callable, Mapping
from typing import Any

from .changes import Change
from .lock import ITEM_NOUNS, SECTIONS, canonical_json
from .schemadiff import SchemaDiff

Definition = dict[str, Any]
_SCOPES = "dev.edgemcp/scopes"
_DRY_RUN = "dev.edgemcp/dryRun"


def _json(value: Any) -> str:
    return canonical_json(value).decode()


def _show(value: Any) -> str:
    return "(none)" if value is None else _json(value)


def compare_surfaces(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Every difference between two lock documents, breaking ones first, then in item order."""
    changes: list[Change] = []
    for section, field in SECTIONS.items():
        noun = ITEM_NOUNS[section]
        old_items: Mapping[str, Any] = old.get(section, {})
        new_items: Mapping[str, Any] = new.get(section, {})
        for key in sorted(old_items.keys() | new_items.keys()):
            label = f"{noun} '{key}'"
            if key not in new_items:
                changes.append(Change("breaking", label, field, f"{noun} removed (clients that use it break)"))
            elif key not in old_items:
                changes.append(Change("compatible", label, field, f"new {noun}"))
            elif old_items[key]["digest"] != new_items[key]["digest"]:
                compare = _COMPARERS[section]
                changes.extend(compare(label, old_items[key]["definition"], new_items[key]["definition"]))
    return sorted(changes, key=lambda c: not c.breaking)  # stable: item order kept within each kind


def compare_tool(label: str, old: Definition, new: Definition) -> list[Change]:
    changes = SchemaDiff(label, "input", old.get("inputSchema", {}), new.get("inputSchema", {}), "inputSchema").run()
    old_out, new_out = old.get("outputSchema"), new.get("outputSchema")
    if old_out is not None and new_out is not None:
        changes += SchemaDiff(label, "output", old_out, new_out, "outputSchema").run()
    elif old_out is not None:
        changes.append(Change("breaking", label, "outputSchema",
                              "outputSchema removed (clients reading structuredContent lose their contract)"))
    elif new_out is not None:
        changes.append(Change("compatible", label, "outputSchema", "outputSchema added"))
    changes += _annotations(label, old.get("annotations") or {}, new.get("annotations") or {})
    changes += _execution(label, old.get("execution") or {}, new.get("execution") or {})
    changes += _meta(label, old.get("_meta") or {}, new.get("_meta") or {})
    handled = {"name", "inputSchema", "outputSchema", "annotations", "execution", "_meta"}
    return changes + _plain_fields(label, old, new, handled)


def _annotations(label: str, old: Definition, new: Definition) -> list[Change]:
    """readOnlyHint true -> false and destructiveHint false -> true take a safety promise
    away (clients auto-approve read-only tools); every other annotation change is reported."""
    changes: list[Change] = []
    was_read_only, read_only = bool(old.get("readOnlyHint", False)), bool(new.get("readOnlyHint", False))
    # The spec's defaults: destructiveHint is true unless declared, and means nothing for a
    # read-only tool.
    was_destructive = not was_read_only and old.get("destructiveHint", True) is not False
    destructive = not read_only and new.get("destructiveHint", True) is not False
    if was_read_only and not read_only:
        now = ", now destructive" if destructive else ""
        changes.append(Change("breaking", label, "annotations.readOnlyHint",
                              f"no longer read-only{now} (readOnlyHint true -> false): clients that "
                              "auto-approve read-only tools would now run side effects"))
    elif destructive and not was_destructive:
        changes.append(Change("breaking", label, "annotations.destructiveHint",
                              "now destructive (destructiveHint false -> true): clients may require confirmation"))
    for key in sorted(old.keys() | new.keys()):
        if key in ("readOnlyHint", "destructiveHint") and any(c.breaking for c in changes):
            continue
        if _json(old.get(key)) != _json(new.get(key)):
            changes.append(Change("compatible", label, f"annotations.{key}",
                                  f"{key} changed from {_show(old.get(key))} to {_show(new.get(key))}"))
    return changes


def _execution(label: str, old: Definition, new: Definition) -> list[Change]:
    changes: list[Change] = []
    for key in sorted(old.keys() | new.keys()):
        was, now = old.get(key), new.get(key)
        if _json(was) == _json(now):
            continue
        message = f"{key} changed from {_show(was)} to {_show(now)}"
        if key == "taskSupport" and now == "required":
            changes.append(Change("breaking", label, f"execution.{key}",
                                  f"{message}: clients that do not run tasks can no longer call it"))
        else:
            changes.append(Change("compatible", label, f"execution.{key}", message))
    return changes


def _meta(label: str, old: Definition, new: Definition) -> list[Change]:
    changes: list[Change] = []
    for key in sorted(old.keys() | new.keys()):
        was, now = old.get(key), new.get(key)
        if _json(was) == _json(now):
            continue
        where = f"_meta.{key}"
        if key == _SCOPES:
            added = sorted(set(now or []) - set(was or []))
            if added:
                changes.append(Change("breaking", label, where,
                                      f"now requires scope {', '.join(added)} (callers without it are refused)"))
                continue
        if key == _DRY_RUN and was is True:
            changes.append(Change("breaking", label, where, "dry runs no longer supported (dry-run calls are refused)"))
            continue
        changes.append(Change("compatible", label, where, f"{key} changed from {_show(was)} to {_show(now)}"))
    return changes


def compare_prompt(label: str, old: Definition, new: Definition) -> list[Change]:
    changes: list[Change] = []
    old_args = {a.get("name"): a for a in old.get("arguments") or [] if isinstance(a, dict)}
    new_args = {a.get("name"): a for a in new.get("arguments") or [] if isinstance(a, dict)}
    for name in [*old_args, *(n for n in new_args if n not in old_args)]:
        where = f"arguments.{name}"
        was, now = old_args.get(name), new_args.get(name)
        if now is None:
            changes.append(Change("breaking", label, where, f"argument '{name}' removed (callers that pass it break)"))
            continue
        required = bool(now.get("required"))
        if was is None:
            if required:
                changes.append(Change("breaking", label, where, f"new required argument '{name}' (existing calls do not pass it)"))
            else:
                changes.append(Change("compatible", label, where, f"new optional argument '{name}'"))
            continue
        if required and not was.get("required"):
            changes.append(Change("breaking", label, where, f"optional argument '{name}' is now required"))
        elif was.get("required") and not required:
            changes.append(Change("compatible", label, where, f"argument '{name}' is now optional"))
        changes += _plain_fields(label, was, now, {"name", "required"}, prefix=f"{where}.")
    return changes + _plain_fields(label, old, new, {"name", "arguments"})


def compare_resource(label: str, old: Definition, new: Definition) -> list[Change]:
    """Resources and templates: a different mimeType changes how a reader must parse the
    content, so it breaks; names, descriptions and metadata do not."""
    changes: list[Change] = []
    if old.get("mimeType") != new.get("mimeType"):
        changes.append(Change("breaking", label, "mimeType",
                              f"mimeType changed from {_show(old.get('mimeType'))} to "
                              f"{_show(new.get('mimeType'))} (readers parse the content differently)"))
    return changes + _plain_fields(label, old, new, {"uri", "uriTemplate", "mimeType"})


def _plain_fields(label: str, old: Definition, new: Definition, skip: set[str], prefix: str = "") -> list[Change]:
    """Fields with no contract of their own (description, title, icons, ...): reported only."""
    return [
        Change("compatible", label, f"{prefix}{key}", f"{key} changed")
        for key in sorted((old.keys() | new.keys()) - skip)
        if _json(old.get(key)) != _json(new.get(key))
    ]


_COMPARERS: dict[str, Callable[[str, Definition, Definition], list[Change]]] = {
    "tools": compare_tool,
    "prompts": compare_prompt,
    "resources": compare_resource,
    "resourceTemplates": compare_resource,
}
