"""What a split or gateway catalog takes as is from the app's own registry: how the server
describes itself and how it lists things."""

from typing import Any

from ..registry.registry import Registry


class RegistryBacked:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    @property
    def server_info(self) -> dict[str, Any]:
        return self.registry.server_info

    @property
    def instructions(self) -> str | None:
        return self.registry.instructions

    @property
    def list_ttl_ms(self) -> int:
        return self.registry.list_ttl_ms

    @property
    def page_size(self) -> int:
        return self.registry.page_size

    @property
    def private_lists(self) -> bool:
        return self.registry.private_lists
