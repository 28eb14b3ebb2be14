"""Tool schemas as contracts: a server's surface as a canonical lock document.

- ``lock``: the canonical lock document and its digests (pure; the runtime reuses them).
"""

from .lock import item_digest, surface_digest

__all__ = ["item_digest", "surface_digest"]
