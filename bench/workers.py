"""The Workers section of a run: bench/workers_bridge.py (edgemcp's bridge vs the stock asgi
bridge, in real Pyodide) started from run.py, its figures kept for results.json.

It needs what the Pyodide tests need: the Workers harness (scripts/setup installs
tests/workers/node_modules and python_modules) and the project's venv (the harness imports
tests/conftest.py, hence pytest), not the benchmark's venv. Without them the section is
skipped, with the reason printed and recorded.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
HARNESS = REPO / "tests" / "workers"


def unavailable(python: Path) -> str | None:
    """Why the bridge cannot run here, or None."""
    if not (HARNESS / "node_modules" / ".bin" / "node").exists():
        return f"no Workers harness in {HARNESS} (scripts/setup installs it)"
    modules = HARNESS / "python_modules"
    if not (modules / "workers").is_dir():
        return f"no vendored Pyodide packages in {modules} (scripts/setup)"
    if modules.is_symlink():
        return f"{modules} is a symlink, which Pyodide's mountNodeFS refuses: copy it"
    if not python.exists():
        return f"no project venv at {python} (pass --workers-python)"
    probe = subprocess.run([str(python), "-c", "import httpx, pytest"], capture_output=True, text=True)
    if probe.returncode:
        return f"{python} lacks httpx or pytest (the project's dev venv has both)"
    return None


def measure(python: Path, requests: int) -> dict[str, Any]:
    """The bridge's figures (workers_bridge.measure), or {"skipped": reason}."""
    reason = unavailable(python)
    if reason:
        return {"skipped": reason}
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        out = Path(tmp) / "workers.json"
        proc = subprocess.run([str(python), str(BENCH / "workers_bridge.py"), "--requests", str(requests),
                               "--json", str(out)], cwd=REPO, capture_output=True, text=True, timeout=900)
        if proc.returncode or not out.exists():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            return {"skipped": f"workers_bridge.py failed (exit {proc.returncode}): {' / '.join(tail)}"}
        result: dict[str, Any] = json.loads(out.read_text())
    for line in proc.stdout.splitlines():
        print(f"  workers   {line}", flush=True)
    return result
