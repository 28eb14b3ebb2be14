"""The official conformance suite against tests/apps/sdk_conformance_server.py: the official
Python SDK (``mcp`` 2.3.0) in stateful streamable-HTTP mode under a real uvicorn. It is the
baseline the router is compared with, so its scores are pinned here.

Target: stable 0.1.16 ``--suite active`` 30/30, 0.2.0-alpha ``--requirements 2025-11-25``
30/30 and ``--requirements 2026-07-28`` 37/37.
"""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .conformance_suite import NODE, SUITES, score
from .conftest import Server

pytestmark = pytest.mark.skipif(
    not NODE.exists(), reason="conformance tooling not installed: run scripts/setup"
)

# Scored scenarios the SDK server fails, per suite, each with the reason (SDK limitation or
# fixture bug). Compared exactly: a scenario that starts passing must be taken off the list.
# Empty: mcp 2.3.0 with sessions in memory passes every scored scenario of all three runs.
# (Unscored and not asserted: 'server-sse-polling', pending, fails because the SDK ships no
# EventStore implementation to resume from; the tasks-* extension scenarios need task tools.)
EXPECTED_FAILURES: dict[str, set[str]] = {suite: set() for suite in SUITES}


@pytest.fixture(scope="module")
def sdk_server() -> Iterator[Server]:
    server = Server("tests.apps.sdk_conformance_server:app")
    yield server
    server.stop()


def test_it_is_the_sdk_with_sessions(sdk_server: Server) -> None:
    """The scores below are the SDK's, stateful: its serverInfo, and a session id issued."""
    initialize = {
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "test", "version": "0"}},
    }
    headers = {"accept": "application/json, text/event-stream"}
    reply = httpx.post(sdk_server.url, json=initialize, headers=headers, timeout=10)
    assert reply.status_code == 200
    assert reply.headers.get("mcp-session-id")
    assert '"name":"sdk-conformance"' in reply.text.replace(" ", "")


@pytest.mark.parametrize("suite", list(SUITES))
def test_official_suite_against_the_sdk(suite: str, sdk_server: Server, tmp_path: Path) -> None:
    scored, output = score(suite, sdk_server.url, tmp_path)
    failed = {name for name, ok in scored.items() if not ok}
    assert failed == EXPECTED_FAILURES[suite], f"{suite}: failures {sorted(failed)}\n{output[-6000:]}"
    target = SUITES[suite][2]
    assert len(scored) - len(failed) == target - len(EXPECTED_FAILURES[suite]), output[-4000:]
