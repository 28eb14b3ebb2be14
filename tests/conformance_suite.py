"""Running the official MCP conformance suite (npm @modelcontextprotocol/conformance, pinned
in tests/conformance, on the bundled Node 22) against a URL and reading its summary.

Shared by the tests that score a server: tests/test_conformance.py (edgemcp's fixture app,
and through it the replica and Workers tests) and tests/test_sdk_server.py (the official
Python SDK's server, the router's baseline).
"""

import re
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent / "conformance"
NODE = HERE / "node_modules" / ".bin" / "node"
# suite name -> (npm alias, runner arguments, scored scenarios the run must report)
SUITES = {
    "stable-active": ("conformance-stable", ["--suite", "active"], 30),
    "2025-11-25": ("conformance-next", ["--requirements", "2025-11-25"], 30),
    "2026-07-28": ("conformance-next", ["--requirements", "2026-07-28"], 37),
}
SCENARIO = re.compile(r"^([✓✗]) (\S+): (\d+) passed, (\d+) failed$")
UNSCORED = re.compile(r"^\s+[✓✗] (\S+) \(")


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


def score(suite: str, url: str, cwd: Path) -> tuple[dict[str, bool], str]:
    """Run one suite against ``url`` (results land in ``cwd``). Returns the scored scenarios'
    outcomes and the runner's output; fails if fewer scenarios were scored than the suite has."""
    package, arguments, minimum_scored = SUITES[suite]
    command = [str(NODE), str(HERE / "node_modules" / package / "dist" / "index.js"),
               "server", "--url", url, *arguments]
    run = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=900)
    output = run.stdout + run.stderr
    outcomes, unscored = parse_summary(output)
    scored = {name: ok for name, ok in outcomes.items() if name not in unscored}
    assert len(scored) >= minimum_scored, f"expected {minimum_scored} scored scenarios:\n{output[-4000:]}"
    return scored, output
