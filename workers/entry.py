"""The Worker's main module: the conformance example app at /mcp.

Everything here runs at deploy time and lands in the memory snapshot, so nothing here
(or in what it imports) may read the clock or draw entropy; the app is configured from
the Worker's env at the first request (see edgemcp.cloudflare).

``conformance_server`` is examples/conformance_server.py, vendored next to edgemcp into
python_modules (see the README); put your own app's modules beside this file.
"""

from conformance_server import mcp
from store_object import EdgeMCPStore

from edgemcp.cloudflare import entrypoint

Default = entrypoint(mcp)

__all__ = ["Default", "EdgeMCPStore"]
