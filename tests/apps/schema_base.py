"""The schema-contract tests' app: one base surface and its mutations, each a real EdgeMCP app.

The base is described as data (tools with typed parameters, a prompt, a resource, a
template); ``build(name)`` applies one mutation to a copy and registers the result with
``@app.tool`` / ``@app.prompt`` / ``@app.resource``, so pydantic derives the schemas exactly
as for a hand-written app (``$defs``/``$ref`` for models, ``anyOf`` for unions, bounds from
``Field``).

- ``tests.apps.schema_base:app`` is the base app; ``tests.apps.schema_base:<mutation>`` is
  a mutated app (module ``__getattr__``), loadable as ``module:app``.
- ``tests.apps.schema_base:served`` serves every variant over HTTP from one process, the
  variant ``m`` at ``/m/mcp``, so each is started once.
"""

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from edgemcp import EdgeMCP
from edgemcp.guards import BearerTokens

# Tools with scopes are listed only to callers holding them: the lock is taken as "ci", who
# holds every scope the variants use.
CI_TOKEN = "schema-ci-token"


@dataclass
class ToolSpec:
    params: dict[str, tuple[Any, Any]]  # name -> (annotation, default or ... for required)
    returns: Any
    options: dict[str, Any] = field(default_factory=dict)
    doc: str = ""


@dataclass
class Surface:
    tools: dict[str, ToolSpec]
    models: dict[str, dict[str, Any]]  # model name -> {field: annotation or (annotation, default)}
    prompts: dict[str, dict[str, tuple[Any, Any]]]
    resources: dict[str, str]  # uri or template -> mime type
    model_config: dict[str, ConfigDict] = field(default_factory=dict)


def base_surface() -> Surface:
    return Surface(
        tools={
            "search_customers": ToolSpec(
                params={
                    "customer_email": (Annotated[str, Field(description="Email of the customer")], ...),
                    "limit": (Annotated[int, Field(ge=1, le=100)], 10),
                    "status": (Literal["active", "closed", "archived"], "active"),
                    "region": (str | None, None),
                },
                returns="list[Customer]",
                options={"read_only": True, "cache_ttl": 60, "cache_scope": "public", "placement": "edge"},
                doc="Find customers by email.",
            ),
            "create_ticket": ToolSpec(
                params={
                    "customer_id": (str, ...),
                    "subject": (Annotated[str, Field(max_length=200)], ...),
                    "address": ("Address", ...),
                    "priority": (int, 3),
                },
                returns="Ticket",
                options={"destructive": False, "placement": "core", "scopes": ["tickets:write"], "dry_run": True},
                doc="Open a support ticket.",
            ),
            "delete_ticket": ToolSpec(
                params={"ticket_id": (int | str, ...)},
                returns=str,
                options={"destructive": True, "idempotent": True},
                doc="Delete a ticket.",
            ),
        },
        models={
            "Address": {"street": str, "city": str, "zip": str},
            "Customer": {"customer_id": str, "name": str, "email": str, "tier": Literal["free", "pro"]},
            "Ticket": {"ticket_id": str, "status": Literal["open", "pending"], "eta_hours": float | None},
        },
        prompts={"triage": {"ticket_id": (str, ...), "tone": (str, "neutral")}},
        resources={"support://faq": "application/json", "support://tickets/{ticket_id}": "text/plain"},
    )


def _param(surface: Surface, tool: str, name: str, annotation: Any, default: Any = ...) -> None:
    surface.tools[tool].params[name] = (annotation, default)


# Each mutation changes one thing about the base; tests/test_schema.py says what it should be called.
MUTATIONS: dict[str, Callable[[Surface], None]] = {
    "base": lambda s: None,
    # -- breaking ------------------------------------------------------------------------
    "remove_tool": lambda s: s.tools.pop("delete_ticket"),
    "rename_param": lambda s: s.tools["search_customers"].params.update(
        {"email_address": s.tools["search_customers"].params.pop("customer_email")}),
    "remove_optional_param": lambda s: s.tools["search_customers"].params.pop("region"),
    "new_required_param": lambda s: _param(s, "search_customers", "account_id", str),
    "optional_made_required": lambda s: _param(s, "search_customers", "limit", Annotated[int, Field(ge=1, le=100)]),
    "param_retyped": lambda s: _param(s, "create_ticket", "priority", str, "3"),
    "enum_value_removed": lambda s: _param(s, "search_customers", "status", Literal["active", "archived"], "active"),
    "maximum_lowered": lambda s: _param(s, "search_customers", "limit", Annotated[int, Field(ge=1, le=50)], 10),
    "minimum_raised": lambda s: _param(s, "search_customers", "limit", Annotated[int, Field(ge=5, le=100)], 10),
    "max_length_lowered": lambda s: _param(s, "create_ticket", "subject", Annotated[str, Field(max_length=80)]),
    "additional_properties_closed": lambda s: s.model_config.update(Address=ConfigDict(extra="forbid")),
    "nested_ref_retyped": lambda s: s.models["Address"].update(zip=int),
    "null_no_longer_accepted": lambda s: _param(s, "search_customers", "region", str, "eu"),
    "union_branch_removed": lambda s: _param(s, "delete_ticket", "ticket_id", str),
    "output_property_removed": lambda s: s.models["Ticket"].pop("eta_hours"),
    "output_property_retyped": lambda s: s.models["Ticket"].update(ticket_id=int),
    "output_enum_widened": lambda s: s.models["Ticket"].update(status=Literal["open", "pending", "escalated"]),
    "output_nested_property_removed": lambda s: s.models["Customer"].pop("email"),
    "output_now_nullable": lambda s: s.models["Customer"].update(name=str | None),
    "read_only_now_destructive": lambda s: s.tools["search_customers"].options.update(read_only=False),
    "now_destructive": lambda s: s.tools["create_ticket"].options.update(destructive=True),
    "new_required_scope": lambda s: s.tools["create_ticket"].options.update(scopes=["tickets:write", "tickets:admin"]),
    "prompt_removed": lambda s: s.prompts.pop("triage"),
    "prompt_new_required_argument": lambda s: s.prompts["triage"].update(agent=(str, ...)),
    "resource_removed": lambda s: s.resources.pop("support://faq"),
    "template_removed": lambda s: s.resources.pop("support://tickets/{ticket_id}"),
    # -- compatible ----------------------------------------------------------------------
    "new_tool": lambda s: s.tools.update(ticket_stats=ToolSpec({"days": (int, 7)}, int, {"read_only": True})),
    "new_optional_param": lambda s: _param(s, "search_customers", "page", int, 1),
    "enum_value_added": lambda s: _param(s, "search_customers", "status",
                                         Literal["active", "closed", "archived", "suspended"], "active"),
    "maximum_raised": lambda s: _param(s, "search_customers", "limit", Annotated[int, Field(ge=1, le=500)], 10),
    "required_made_optional": lambda s: _param(s, "create_ticket", "subject", Annotated[str, Field(max_length=200)], ""),
    "null_now_accepted": lambda s: _param(s, "create_ticket", "priority", int | None, 3),
    "integer_widened_to_number": lambda s: _param(s, "create_ticket", "priority", float, 3),
    "new_output_property": lambda s: s.models["Ticket"].update(assignee=str),
    "output_type_narrowed": lambda s: s.models["Ticket"].update(eta_hours=int | None),
    "output_enum_narrowed": lambda s: s.models["Ticket"].update(status=Literal["open"]),
    "description_changed": lambda s: setattr(s.tools["create_ticket"], "doc", "Open a ticket for a customer."),
    "param_description_changed": lambda s: _param(
        s, "search_customers", "customer_email", Annotated[str, Field(description="The customer's email")]),
    "placement_changed": lambda s: s.tools["search_customers"].options.update(placement="any"),
    "cache_ttl_changed": lambda s: s.tools["search_customers"].options.update(cache_ttl=300),
    "new_prompt": lambda s: s.prompts.update(escalate={"ticket_id": (str, ...)}),
    "prompt_new_optional_argument": lambda s: s.prompts["triage"].update(language=(str, "en")),
    "new_resource": lambda s: s.resources.update({"support://status": "text/plain"}),
}


def _models(surface: Surface) -> dict[str, type[BaseModel]]:
    return {
        name: create_model(name, __config__=surface.model_config.get(name), **{
            k: v if isinstance(v, tuple) else (v, ...) for k, v in fields.items()})
        for name, fields in surface.models.items()
    }


def _resolve(annotation: Any, models: dict[str, type[BaseModel]]) -> Any:
    """Model names in the table ("Ticket", "list[Customer]") become the built models."""
    if not isinstance(annotation, str):
        return annotation
    if annotation.startswith("list["):
        return list[models[annotation[5:-1]]]  # type: ignore[misc]
    return models[annotation]


def _function(name: str, params: dict[str, tuple[Any, Any]], returns: Any, doc: str,
              models: dict[str, type[BaseModel]]) -> Callable[..., Any]:
    """A function with exactly this signature, as if written by hand (never called here)."""

    def fn(**kwargs: Any) -> Any:
        raise NotImplementedError

    parameters = [
        inspect.Parameter(p, inspect.Parameter.KEYWORD_ONLY, annotation=_resolve(t, models),
                          default=inspect.Parameter.empty if d is ... else d)
        for p, (t, d) in params.items()
    ]
    fn.__name__ = name
    fn.__doc__ = doc or None
    fn.__signature__ = inspect.Signature(parameters, return_annotation=_resolve(returns, models))  # type: ignore[attr-defined]
    fn.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": _resolve(returns, models)}
    return fn


def build(mutation: str = "base") -> EdgeMCP:
    surface = base_surface()
    MUTATIONS[mutation](surface)
    models = _models(surface)
    tokens = BearerTokens({"ci": CI_TOKEN}, scopes={"ci": ["tickets:write", "tickets:admin"]})
    app = EdgeMCP("support", version="1.4.0", auth=tokens)
    for name, spec in surface.tools.items():
        app.tool(**spec.options)(_function(name, spec.params, spec.returns, spec.doc, models))
    for name, arguments in surface.prompts.items():
        app.prompt()(_function(name, arguments, str, f"The {name} prompt.", models))
    for uri, mime_type in surface.resources.items():
        variables = [part[1:-1] for part in uri.split("/") if part.startswith("{")]
        name = uri.removeprefix("support://").split("/")[0]
        reader = _function(name, {v: (str, ...) for v in variables}, str, "", models)
        app.resource(uri, mime_type=mime_type)(reader)
    return app


app = build()


def __getattr__(name: str) -> EdgeMCP:
    """``tests.apps.schema_base:<mutation>`` loads that mutation as ``module:app``."""
    if name in MUTATIONS:
        return build(name)
    raise AttributeError(name)


class _Served:
    """Every variant over HTTP from one process: ``/<mutation>/mcp``."""

    def __init__(self) -> None:
        self.apps: dict[str, Any] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        mutation = scope["path"].strip("/").split("/")[0]
        if mutation not in MUTATIONS:
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        if mutation not in self.apps:
            self.apps[mutation] = build(mutation).asgi(path=f"/{mutation}/mcp")
        await self.apps[mutation](scope, receive, send)


served = _Served()
