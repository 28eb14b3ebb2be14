"""Key-value stores: choose one by URL (``memory://``) or pass an instance."""

from urllib.parse import urlsplit

from .base import Capabilities, Store, StoreError, Subscription
from .keyspace import Keyspace
from .memory import MemoryStore

__all__ = [
    "Capabilities", "Keyspace", "MemoryStore", "Store", "StoreError", "Subscription", "open_store",
]


def open_store(url: str, *, timeout: float = 2.0) -> Store:
    """A store for ``url``: ``memory://`` (one process, for development),
    ``sqlite:///path/to/file.db`` (one host, any number of processes), ``redis://``,
    ``rediss://`` or ``redis+cluster://`` (needs the ``redis`` extra). ``timeout``: the
    seconds one Redis command may take (then ``StoreError``: 503)."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return MemoryStore()
    if scheme in ("redis", "rediss", "redis+cluster", "unix"):
        from .redis import RedisStore

        return RedisStore(url, timeout=timeout)
    if scheme == "sqlite":
        # Imported on demand: a Worker (Pyodide) has no threads and may not ship sqlite3.
        from .sqlite import SQLiteStore

        return SQLiteStore.from_url(url)
    raise ValueError(
        f"unknown store URL scheme {scheme!r}: expected memory://, sqlite:/// or redis://")
