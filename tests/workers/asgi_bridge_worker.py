"""The same conformance app behind the workers SDK's stock ``asgi`` bridge, for
bench/workers_bridge.py (edgemcp.cloudflare uses its own bridge; this measures why)."""

from conformance_server import mcp
from edgemcp.cloudflare import WorkerHandler
from workers import WorkerEntrypoint
from workers import asgi as stock

handler = WorkerHandler(mcp)


class Default(WorkerEntrypoint):
    async def fetch(self, request):  # type: ignore[no-untyped-def]
        app = handler.configure(self.env)
        return await stock.fetch(app, request.js_object, self.env)
