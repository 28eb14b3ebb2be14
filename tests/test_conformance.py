"""The official MCP conformance suite (npm @modelcontextprotocol/conformance) against
examples/conformance_server.py served by a real uvicorn.

Three runs: 0.1.16 ``--suite active`` (handshake era), and 0.2.0-alpha.12 with the
2025-11-25 and 2026-07-28 requirement sets. A scored scenario may fail only if it is
listed in tests/conformance/expected-failures.txt (empty when everything passes). The
2026-07-28 run also holds the tasks extension's ten unscored ``tasks-*`` scenarios to
pass, every one.
"""

from collections.abc import Iterable
from pathlib import Path

import pytest

from .conformance_suite import HERE, NODE, SUITES, parse_summary, score
from .conftest import Server

# Unscored scenarios edgemcp's fixture app must pass all the same: suite -> (prefix, how many).
EXTENSIONS = {"2026-07-28": ("tasks-", 10)}

pytestmark = pytest.mark.skipif(
    not NODE.exists(), reason="conformance tooling not installed: run scripts/setup"
)


def expected_failures() -> set[str]:
    listed = (HERE / "expected-failures.txt").read_text().splitlines()
    return {line.split("#")[0].strip() for line in listed if line.split("#")[0].strip()}


def run_suite(suite: str, url: str, cwd: Path, allowed: Iterable[str] = ()) -> dict[str, bool]:
    """Run one suite against ``url``; fail on any scored failure not listed as expected
    (or in ``allowed``). Returns the scored outcomes."""
    scored, output = score(suite, url, cwd)
    failed = sorted(name for name, ok in scored.items() if not ok)
    unexpected = [name for name in failed if name not in expected_failures() | set(allowed)]
    assert not unexpected, f"{suite}: unexpected failures {unexpected}\n{output[-6000:]}"
    if suite in EXTENSIONS:
        prefix, count = EXTENSIONS[suite]
        outcomes, unscored = parse_summary(output)
        ran = {name: ok for name, ok in outcomes.items() if name.startswith(prefix) and name in unscored}
        assert len(ran) == count, f"expected {count} unscored {prefix}* scenarios, ran {sorted(ran)}"
        failing = sorted(name for name, ok in ran.items() if not ok)
        assert not failing, f"{suite}: {prefix}* scenarios failing {failing}\n{output[-6000:]}"
    return scored


@pytest.mark.parametrize("suite", list(SUITES))
def test_official_conformance_suite(suite: str, conformance_server: Server, tmp_path: Path) -> None:
    run_suite(suite, conformance_server.url, tmp_path)
