"""Turn a plain typed Python function into MCP's argument schema and a validated call.

Pydantic does the real work: a model built from the signature gives the JSON Schema
(2020-12) that clients see, and validates the arguments they send.
"""

import inspect
import logging
import typing
from collections.abc import Callable
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema

from ..protocol.context import Context
from ..protocol.errors import ArgumentsError

_ARGUMENTS_CONFIG = ConfigDict(arbitrary_types_allowed=True, extra="ignore")
# Returns that are already MCP content, or carry no structure worth a schema.
_UNSTRUCTURED = {str, bytes, type(None), Any, dict, list, object}


class _Schema(GenerateJsonSchema):
    """Pydantic's JSON Schema without the titles it invents from field names ("A" for ``a``):
    noise in every tools/list, and tokens in every prompt a client builds from it."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def _clean(schema: dict[str, Any]) -> dict[str, Any]:
    schema.pop("title", None)
    return schema


class FunctionSignature:
    """What edgemcp needs to know about a decorated function, computed once."""

    def __init__(self, fn: Callable[..., Any], *, name: str) -> None:
        self.fn = fn
        self.is_async = inspect.iscoroutinefunction(fn)
        hints = typing.get_type_hints(fn, include_extras=True)
        fields: dict[str, Any] = {}
        self.context_param: str | None = None
        self.parameters: list[str] = []
        for param in inspect.signature(fn).parameters.values():
            annotation = hints.get(param.name, Any)
            if _is_context(annotation):
                self.context_param = param.name
                continue
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise TypeError(f"{name}: *args and **kwargs cannot be described to a client")
            default = ... if param.default is param.empty else param.default
            fields[param.name] = (annotation, default)
            self.parameters.append(param.name)
        self.model: type[BaseModel] = pydantic.create_model(
            f"{name}_arguments", __config__=_ARGUMENTS_CONFIG, **fields
        )
        self.input_schema = _clean(self.model.model_json_schema(schema_generator=_Schema))
        self.input_schema.setdefault("properties", {})
        self.return_type = hints.get("return", Any)

    def required(self) -> set[str]:
        return set(self.input_schema.get("required", ()))

    def bind(self, arguments: dict[str, Any], context: Context | None) -> dict[str, Any]:
        """Validate ``arguments`` and return the keyword arguments for the call."""
        try:
            model = self.model.model_validate(arguments)
        except pydantic.ValidationError as exc:
            raise ArgumentsError(_describe(exc)) from None
        kwargs = {name: getattr(model, name) for name in self.parameters}
        if self.context_param is not None:
            kwargs[self.context_param] = context
        return kwargs

    async def call(self, kwargs: dict[str, Any]) -> Any:
        if self.is_async:
            return await self.fn(**kwargs)
        return self.fn(**kwargs)


class OutputSchema:
    """The ``outputSchema`` of a typed return, and how to turn a value into structured content.

    A return type whose schema is not an object is wrapped as ``{"result": value}``,
    because ``structuredContent`` must be a JSON object.
    """

    def __init__(self, return_type: Any) -> None:
        self.adapter: TypeAdapter[Any] = TypeAdapter(return_type)
        schema = _clean(self.adapter.json_schema(mode="serialization", schema_generator=_Schema))
        self.wrapped = schema.get("type") != "object"
        if self.wrapped:
            defs = schema.pop("$defs", None)
            schema = {"type": "object", "properties": {"result": schema}, "required": ["result"]}
            if defs:
                schema["$defs"] = defs
        self.schema = schema

    @classmethod
    def for_return(cls, return_type: Any) -> "OutputSchema | None":
        origin = typing.get_origin(return_type) or return_type
        if _unstructured(return_type):
            return None
        if isinstance(origin, type) and origin.__module__.startswith("edgemcp"):
            return None  # ToolResult and friends describe themselves.
        try:
            return cls(return_type)
        except (pydantic.PydanticSchemaGenerationError, pydantic.PydanticUserError, TypeError) as exc:
            logging.getLogger("edgemcp").warning(
                "return type %r has no JSON Schema (%s); results will be unstructured",
                return_type, type(exc).__name__,
            )
            return None

    def structured(self, value: Any) -> dict[str, Any]:
        data = self.adapter.dump_python(value, mode="json")
        return {"result": data} if self.wrapped else data


def _is_context(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, Context)


def _unstructured(tp: Any) -> bool:
    """Strings, content dicts and lists of them: returns that are content, not data.
    ``dict[str, Any]`` counts as content (a helper's block); ``dict[str, int]`` is data."""
    if tp in _UNSTRUCTURED:
        return True
    if typing.get_origin(tp) in (list, dict, tuple):
        return all(_unstructured(arg) for arg in typing.get_args(tp))
    return False


def _describe(exc: pydantic.ValidationError) -> str:
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "arguments"
        problems.append(f"{where}: {error['msg']}")
    return "Invalid arguments: " + "; ".join(problems)
