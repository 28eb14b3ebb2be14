"""Key-value stores: choose one by URL (``memory://``) or pass an instance."""

from urllib.parse import urlsplit

from .base import Capabilities, Store, StoreError
from .keyspace import Keyspace
from .memory import MemoryStore

__all__ = ["Capabilities", "Keyspace", "MemoryStore", "Store", "StoreError", "open_store"]


def open_store(url: str) -> Store:
    """A store for ``url``: ``memory://`` (one process, for development)."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return MemoryStore()
    raise ValueError(f"unknown store URL scheme {scheme!r}: expected memory://")
