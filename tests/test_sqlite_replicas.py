"""Two processes sharing one sqlite file (a single-host deployment: uvicorn --workers N, or
two processes on one machine), behind the round-robin balancer: the official conformance
suite scores them as it scores one process or two replicas on Redis."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import Replicas
from .test_conformance import NODE, SUITES, run_suite


@pytest.fixture(scope="module")
def sqlite_replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    database = tmp_path_factory.mktemp("sqlite") / "shared.db"
    running = Replicas(f"sqlite:///{database}")
    yield running
    running.stop()


@pytest.mark.skipif(not NODE.exists(), reason="conformance tooling not installed: run scripts/setup")
@pytest.mark.parametrize("suite", list(SUITES))
def test_conformance_on_two_processes_sharing_one_sqlite_file(suite: str, sqlite_replicas: Replicas,
                                                                tmp_path: Path) -> None:
    run_suite(suite, sqlite_replicas.url, tmp_path)
