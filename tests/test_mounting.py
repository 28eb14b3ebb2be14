"""An app mounted in a host app: FastAPI (and so Starlette) with ``app.mount("/tools",
mcp.asgi())`` and ``lifespan=mcp.lifespan``. The endpoint is served below the mount, the
host's lifespan starts the app, and the official conformance suite scores the mounted app
as it scores the app alone."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from edgemcp import EdgeMCP
from edgemcp.runtime import ConfigurationError
from edgemcp.store import Capabilities, MemoryStore

from .conformance_suite import NODE
from .conftest import Server
from .test_conformance import run_suite

MODERN = "2026-07-28"


@pytest.fixture(scope="module")
def mounted() -> Iterator[Server]:
    server = Server("tests.apps.mounted:api")
    server.url = server.url.removesuffix("/mcp") + "/tools/mcp"
    yield server
    server.stop()


@pytest.mark.skipif(not NODE.exists(), reason="conformance tooling not installed: run scripts/setup")
@pytest.mark.parametrize("suite", ["stable-active", "2026-07-28"])
def test_the_official_suite_against_the_mounted_app(suite: str, mounted: Server, tmp_path: Path) -> None:
    run_suite(suite, mounted.url, tmp_path)


def test_the_fastapi_example_serves_its_routes_and_the_mcp_endpoint() -> None:
    server = Server("examples.fastapi_app:api")
    try:
        base = server.url.removesuffix("/mcp")
        assert httpx.get(base + "/health", timeout=10).json() == {"status": "ok"}
        headers = {"accept": "application/json, text/event-stream", "mcp-protocol-version": MODERN,
                   "mcp-method": "server/discover"}
        discovered = httpx.post(base + "/tools/mcp", headers=headers, timeout=10, json={
            "jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": {
                "io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}}})
        assert discovered.status_code == 200 and MODERN in discovered.json()["result"]["supportedVersions"]
        # Outside the mount, the host answers (its own 404), not edgemcp.
        assert httpx.post(base + "/mcp", headers=headers, timeout=10, json={}).status_code == 404
    finally:
        server.stop()


async def test_the_hosts_lifespan_starts_the_app_and_refuses_a_bad_configuration() -> None:
    good = EdgeMCP("mounted-good", secret="s")
    async with good.lifespan():
        assert good._runtime is not None  # built by the host's start, before any request
    eventual = MemoryStore()
    eventual.capabilities = Capabilities(consistency="eventual", atomic=False, pubsub=False)
    bad = EdgeMCP("mounted-bad", secret="s", store=eventual, rate_limit="5/minute")
    with pytest.raises(ConfigurationError, match="rate limiting needs"):
        async with bad.lifespan():
            pass
