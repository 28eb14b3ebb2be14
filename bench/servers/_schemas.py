"""Hand-written tool definitions (name, description, inputSchema, outputSchema) for the servers
that do not derive schemas from type hints: the SDK low-level Server and the bare apps.
Stdlib only; built from the type hints of the ten functions without pydantic."""

import inspect

from ._functions import TOOLS

# What edgemcp advertises for a tool that declares nothing (the spec's defaults).
_ANNOTATIONS = {"readOnlyHint": False, "destructiveHint": True, "idempotentHint": False,
                "openWorldHint": True}
_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _input_schema(fn):  # type: ignore[no-untyped-def]
    sig = inspect.signature(fn)
    props = {name: {"type": _JSON_TYPES[p.annotation]} for name, p in sig.parameters.items()}
    return {"type": "object", "properties": props, "required": list(props)}


def _output_schema(fn):  # type: ignore[no-untyped-def]
    ret = inspect.signature(fn).return_annotation
    if ret is str:
        return None
    return {"type": "object", "properties": {"result": {"type": _JSON_TYPES[ret]}},
            "required": ["result"]}


def tool_definitions() -> list[dict]:
    out = []
    for fn in TOOLS:
        tool = {"name": fn.__name__, "description": inspect.getdoc(fn) or "",
                "inputSchema": _input_schema(fn), "annotations": dict(_ANNOTATIONS)}
        schema = _output_schema(fn)
        if schema is not None:
            tool["outputSchema"] = schema
        out.append(tool)
    return out


STRUCTURED = {fn.__name__ for fn in TOOLS if inspect.signature(fn).return_annotation is not str}
FUNCTIONS = {fn.__name__: fn for fn in TOOLS}
