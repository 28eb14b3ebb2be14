"""The test setup itself: without redis-server the Redis tests skip with the reason, except
under CI, where they fail with it (CI must never skip silently)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REDIS_MISSING, ROOT

# Any test that needs a real Redis through the shared fixtures.
REDIS_TEST = "tests/test_guards.py::test_exactly_the_budget_passes_under_concurrency_on_redis"


def pytest_without_redis(tmp_path: Path, ci: bool) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PATH": str(tmp_path), "PYTHONPATH": str(ROOT / "src")}  # no redis-server there
    environment.pop("CI", None)
    if ci:
        environment["CI"] = "true"
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", REDIS_TEST],
                          cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("ci", [False, True])
def test_redis_tests_skip_without_redis_server_but_fail_under_ci(tmp_path: Path, ci: bool) -> None:
    done = pytest_without_redis(tmp_path, ci)
    assert REDIS_MISSING in done.stdout
    if ci:
        assert done.returncode == 1 and "1 error" in done.stdout, done.stdout
    else:
        assert done.returncode == 0 and "1 skipped" in done.stdout, done.stdout
