"""``Registry``: everything an app serves (tools, resources, templates, prompts and
completions) and how it describes itself. The protocol core reads it as its ``Catalog``."""

from collections.abc import Callable, Sequence
from typing import Any

from ..protocol.ports import Completer, Offers
from .prompts import Prompt
from .resources import Resource, ResourceTemplate
from .source import LocalTools


class Registry:
    def __init__(self, server_info: dict[str, Any], *, instructions: str | None = None,
                 list_ttl_ms: int = 0, page_size: int = 100, private_lists: bool = False) -> None:
        self.server_info = server_info
        self.instructions = instructions
        self.list_ttl_ms = list_ttl_ms
        self.page_size = page_size
        # With authentication, lists may differ per caller: they are never shared.
        self.private_lists = private_lists
        self.local_tools = LocalTools()
        self.resources: dict[str, Resource] = {}
        self.templates: list[ResourceTemplate] = []
        self.prompts: dict[str, Prompt] = {}
        self.completers: dict[tuple[str, str], Completer] = {}

    @property
    def offers(self) -> Offers:
        return Offers(tools=bool(self.local_tools),
                      resources=bool(self.resources or self.templates), prompts=bool(self.prompts),
                      completions=bool(self.completers), tasks=self.has_tasks)

    @property
    def has_tasks(self) -> bool:
        """Whether to advertise the tasks extension: some tool here may run as a task."""
        return any(tool.task is not None for tool in self.local_tools)

    def add_resource(self, resource: Resource) -> None:
        if isinstance(resource, ResourceTemplate):
            self.templates.append(resource)
        else:
            self.resources[resource.uri] = resource

    def add_prompt(self, prompt: Prompt) -> None:
        self.prompts[prompt.name] = prompt

    def add_completer(self, ref: tuple[str, str], completer: Callable[..., Any]) -> None:
        self.completers[ref] = completer

    async def list_resources(self) -> Sequence[Resource]:
        return list(self.resources.values())

    async def list_templates(self) -> Sequence[ResourceTemplate]:
        return self.templates

    async def list_prompts(self) -> Sequence[Prompt]:
        return list(self.prompts.values())

    async def get_prompt(self, name: str) -> Prompt | None:
        return self.prompts.get(name)

    async def get_completer(self, kind: str, target: str) -> Completer | None:
        return self.completers.get((kind, target))

    async def find_resource(self, uri: str) -> tuple[Resource, dict[str, str]] | None:
        return self.match_resource(uri)

    def match_resource(self, uri: str) -> tuple[Resource, dict[str, str]] | None:
        resource = self.resources.get(uri)
        if resource is not None:
            return resource, {}
        for template in self.templates:
            variables = template.match(uri)
            if variables is not None:
                return template, variables
        return None
