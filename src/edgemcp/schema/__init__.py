"""Tool schemas as contracts: lock a server's surface, then check it for breaking changes.

- ``lock``: the canonical lock document and its digests (pure; the runtime reuses them).
- ``schemadiff``: compare two JSON Schemas, in the direction data flows.
- ``compare``: compare two surfaces item by item.
"""

from .lock import item_digest, surface_digest

__all__ = ["item_digest", "surface_digest"]
