"""Shared fixtures: real uvicorn servers on free loopback ports."""

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
TEST_SECRET = "test-secret-not-for-production"


def free_port(below: int = 65536) -> int:
    """A free loopback port; ``below`` leaves room for Redis cluster bus ports (port+10000)."""
    for _ in range(200):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", 0 if below == 65536 else random.randrange(20000, below)))
            except OSError:
                continue  # a randomly chosen port in use: choose another
            port = int(sock.getsockname()[1])
        with socket.socket() as bus:
            if below == 65536 or bus.connect_ex(("127.0.0.1", port + 10000)) != 0:
                return port
    raise RuntimeError("no free port")


class JSONHandler(BaseHTTPRequestHandler):
    """A stdlib request handler for small stand-in servers: answers JSON, logs nothing."""

    def reply_json(self, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def serve_http(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """A real HTTP server on a free loopback port, on a daemon thread; call ``shutdown()``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Server:
    def __init__(self, target: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        # "{port}" in a value is this server's own port (a server told its own URL).
        given = {name: value.replace("{port}", str(self.port)) for name, value in (env or {}).items()}
        environment = {**os.environ, "EDGEMCP_SECRET": TEST_SECRET, **given}
        # Output goes to a file, not a pipe: nobody reads a pipe while the server runs, and
        # once its buffer fills (audit lines) every write would block the server.
        self.output = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning"],
            cwd=ROOT, env=environment, stdout=self.output, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server {target} exited early:\n{self.read_output()}")
            try:
                httpx.get(self.url, timeout=0.5)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server {target} did not start")

    def read_output(self) -> str:
        self.output.seek(0)
        return self.output.read().decode(errors="replace")

    def stop(self) -> str:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        out = self.read_output()
        self.output.close()
        return out


@pytest.fixture(scope="session")
def conformance_server() -> Iterator[Server]:
    server = Server("examples.conformance_server:app")
    yield server
    server.stop()


REDIS_MISSING = "redis-server not found: apt-get install redis-server"


def need_redis_server() -> None:
    """Tests that need a real Redis skip with the reason when redis-server is missing, so a
    first run without it still tests the rest; under CI (``CI`` set) they fail instead: CI
    must never skip silently."""
    if shutil.which("redis-server") is None:
        if os.environ.get("CI"):
            pytest.fail(REDIS_MISSING, pytrace=False)
        pytest.skip(REDIS_MISSING)


class RedisServer:
    """A real redis-server (Debian package) on a free loopback port, no persistence."""

    def __init__(self, directory: Path, port: int | None = None, *extra: str) -> None:
        need_redis_server()
        self.directory = directory
        self.port = port or free_port()
        self.extra = extra
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory), *self.extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def fragile_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of one's own, for tests that stop and restart it."""
    server = RedisServer(tmp_path)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Three masters in cluster mode; yields a redis+cluster:// URL."""
    nodes: list[RedisServer] = []
    while len(nodes) < 3:
        directory = tmp_path_factory.mktemp("cluster")
        port = free_port(below=50000)
        taken = {n.port for n in nodes} | {n.port + 10000 for n in nodes}
        if port in taken or port + 10000 in taken:
            continue  # one node's port would be another's cluster bus port
        try:
            nodes.append(RedisServer(directory, port, "--cluster-enabled", "yes",
                                     "--cluster-config-file", str(directory / "nodes.conf")))
        except RuntimeError:
            continue  # the port was taken between the check and the start: another one
    addresses = [f"127.0.0.1:{node.port}" for node in nodes]
    subprocess.run(["redis-cli", "--cluster", "create", *addresses, "--cluster-replicas", "0",
                    "--cluster-yes"], check=True, capture_output=True, timeout=60)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        info = subprocess.run(["redis-cli", "-p", str(nodes[0].port), "cluster", "info"],
                              capture_output=True, text=True).stdout
        if "cluster_state:ok" in info:
            break
        time.sleep(0.2)
    yield f"redis+cluster://{addresses[0]}"
    for node in nodes:
        node.stop()


class Replicas:
    """Two uvicorn replicas of ``target`` (by default the conformance server) sharing one
    Redis, behind a round-robin balancer (tests/apps/balancer.py)."""

    def __init__(self, redis_url: str, target: str = "examples.conformance_server:app",
                 env: dict[str, str] | None = None) -> None:
        env = {"EDGEMCP_STORE": redis_url, **(env or {})}
        self.replicas = [Server(target, env) for _ in range(2)]
        backends = ",".join(r.url.removesuffix("/mcp") for r in self.replicas)
        self.balancer = Server("tests.apps.balancer:app", {"BACKENDS": backends})
        self.url = self.balancer.url

    def stop(self) -> None:
        for server in (self.balancer, *self.replicas):
            server.stop()


@pytest.fixture(scope="session")
def replicas(redis_server: RedisServer) -> Iterator[Replicas]:
    running = Replicas(redis_server.url)
    yield running
    running.stop()
