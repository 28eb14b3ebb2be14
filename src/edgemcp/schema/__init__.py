"""Tool schemas as contracts: lock a server's surface, then check it for breaking changes.

``edgemcp schema lock TARGET`` writes ``mcp.lock.json``; ``edgemcp schema check TARGET --lock
mcp.lock.json`` compares the live surface with it, semantically. TARGET is ``module:app`` (read
in process, never served) or the URL of any MCP server, in either protocol era.

- ``surface``: read the lists (tools, prompts, resources, templates) from a server.
- ``lock``: the canonical lock document and its digests (pure; the runtime reuses them).
- ``schemadiff``: compare two JSON Schemas, in the direction data flows.
- ``compare``: compare two surfaces item by item.
- ``report``: human, JSON and GitHub Actions output.
- ``cli``: the ``edgemcp schema`` command.
"""

from .lock import item_digest, surface_digest

__all__ = ["item_digest", "surface_digest"]
