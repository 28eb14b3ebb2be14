"""The official MCP conformance suite (npm @modelcontextprotocol/conformance) against
examples/conformance_server.py served by a real uvicorn.

Three runs: 0.1.16 ``--suite active`` (handshake era), and 0.2.0-alpha.12 with the
2025-11-25 and 2026-07-28 requirement sets. A scored scenario may fail only if it is
listed in tests/conformance/expected-failures.txt (empty when everything passes).
"""

import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest

from .conftest import Server

HERE = Path(__file__).resolve().parent / "conformance"
NODE = HERE / "node_modules" / ".bin" / "node"
SUITES = {
    "stable-active": ("conformance-stable", ["--suite", "active"], 30),
    "2025-11-25": ("conformance-next", ["--requirements", "2025-11-25"], 30),
    "2026-07-28": ("conformance-next", ["--requirements", "2026-07-28"], 37),
}
SCENARIO = re.compile(r"^([✓✗]) (\S+): (\d+) passed, (\d+) failed$")
UNSCORED = re.compile(r"^\s+[✓✗] (\S+) \(")

pytestmark = pytest.mark.skipif(
    not NODE.exists(), reason="conformance tooling not installed: run scripts/setup"
)


def expected_failures() -> set[str]:
    listed = (HERE / "expected-failures.txt").read_text().splitlines()
    return {line.split("#")[0].strip() for line in listed if line.split("#")[0].strip()}


def parse_summary(output: str) -> tuple[dict[str, bool], set[str]]:
    """Scenario outcomes from the runner's summary, and the names it says are unscored."""
    outcomes: dict[str, bool] = {}
    unscored: set[str] = set()
    summary = output.split("=== SUMMARY ===", 1)[-1]
    for line in summary.splitlines():
        if found := SCENARIO.match(line.strip()):
            outcomes[found.group(2)] = found.group(1) == "✓" and found.group(4) == "0"
        elif found := UNSCORED.match(line):
            unscored.add(found.group(1))
    return outcomes, unscored


def run_suite(suite: str, url: str, cwd: Path, allowed: Iterable[str] = ()) -> dict[str, bool]:
    """Run one suite against ``url``; fail on any scored failure not listed as expected
    (or in ``allowed``). Returns the scored outcomes."""
    package, arguments, minimum_scored = SUITES[suite]
    command = [str(NODE), str(HERE / "node_modules" / package / "dist" / "index.js"),
               "server", "--url", url, *arguments]
    run = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=900)
    output = run.stdout + run.stderr
    outcomes, unscored = parse_summary(output)
    scored = {name: ok for name, ok in outcomes.items() if name not in unscored}
    assert len(scored) >= minimum_scored, f"expected {minimum_scored} scored scenarios:\n{output[-4000:]}"
    failed = sorted(name for name, ok in scored.items() if not ok)
    unexpected = [name for name in failed if name not in expected_failures() | set(allowed)]
    assert not unexpected, f"{suite}: unexpected failures {unexpected}\n{output[-6000:]}"
    return scored


@pytest.mark.parametrize("suite", list(SUITES))
def test_official_conformance_suite(suite: str, conformance_server: Server, tmp_path: Path) -> None:
    run_suite(suite, conformance_server.url, tmp_path)
