"""``Registry``: everything an app serves (tools, resources, templates, prompts and
completions) and how it describes itself. The protocol core reads it as its ``Catalog``."""

from collections.abc import Callable
from typing import Any

from ..protocol.ports import Completer
from .prompts import Prompt
from .resources import Resource, ResourceTemplate
from .source import LocalTools, ToolSource


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
        self.tool_source: ToolSource = self.local_tools
        self.resources: dict[str, Resource] = {}
        self.templates: list[ResourceTemplate] = []
        self.prompts: dict[str, Prompt] = {}
        self.completers: dict[tuple[str, str], Completer] = {}

    @property
    def has_tools(self) -> bool:
        """Whether to advertise tools: any registered here, or a source of them elsewhere."""
        return self.tool_source is not self.local_tools or bool(self.local_tools)

    def add_resource(self, resource: Resource) -> None:
        if isinstance(resource, ResourceTemplate):
            self.templates.append(resource)
        else:
            self.resources[resource.uri] = resource

    def add_prompt(self, prompt: Prompt) -> None:
        self.prompts[prompt.name] = prompt

    def add_completer(self, ref: tuple[str, str], completer: Callable[..., Any]) -> None:
        self.completers[ref] = completer

    def find_resource(self, uri: str) -> tuple[Resource, dict[str, str]] | None:
        resource = self.resources.get(uri)
        if resource is not None:
            return resource, {}
        for template in self.templates:
            variables = template.match(uri)
            if variables is not None:
                return template, variables
        return None
