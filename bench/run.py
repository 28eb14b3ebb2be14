#!/usr/bin/env python3
# ruff: noqa: RUF001, RUF003  (the multiplication sign is in the report's words)
"""edgemcp benchmark harness: throughput (wrk), cold start and memory, side by side with the
official MCP SDK, FastMCP and bare Starlette / raw ASGI apps.

    python bench/run.py            # full: 3 repetitions, c=1/16/64, 10 s runs (over an hour; --baseline adds about half again)
    python bench/run.py --quick    # 1 repetition, c=16, 2 s runs (under 3 minutes)

Any Python 3.11+ can start it: on first use it creates bench/.venv (every server's
dependencies, edgemcp installed editable from this repository) and re-executes itself there.
See bench/README.md for what every figure means.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
VENV = BENCH / ".venv"
VENV_PY = VENV / "bin" / "python"
STAMP = VENV / ".bench-stamp"
LUA = BENCH / "lua" / "mcp.lua"
PYCACHE = VENV / "pycache"   # bytecode for every benchmark process (never written into src/)

MODERN = "2026-07-28"
HANDSHAKE = "2025-11-25"
ACCEPT = "application/json, text/event-stream"
SECRET = "bench-secret-not-for-production-0123456789abcdef"
ECHO_TEXT = "hello-bench-42"   # no whitespace: replies are checked with whitespace removed
FASTMCP = ("fastmcp==4.1.6", "fastmcp-slim==4.1.6")


# ----------------------------------------------------------------------------------------------
# The benchmark virtualenv
# ----------------------------------------------------------------------------------------------

def _stamp() -> str:
    digest = hashlib.sha256((BENCH / "requirements.txt").read_bytes())
    digest.update(repr(FASTMCP).encode())
    return digest.hexdigest()


def ensure_venv(script: Path | None = None) -> None:
    """Create bench/.venv if missing or stale, then re-exec `script` (default: this file) in it."""
    if not (VENV_PY.exists() and STAMP.exists() and STAMP.read_text() == _stamp()):
        print(f"[bench] preparing {VENV} (first run only) ...", flush=True)
        if not VENV_PY.exists():
            base = getattr(sys, "_base_executable", sys.executable)
            subprocess.run([base, "-m", "venv", str(VENV)], check=True)
        pip = [str(VENV_PY), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, "-r", str(BENCH / "requirements.txt"), "-e", f"{REPO}[redis]"], check=True)
        # See requirements.txt: FastMCP's own metadata pins a certifi the index does not have.
        subprocess.run([*pip, "--no-deps", *FASTMCP], check=True)
        STAMP.write_text(_stamp())
    if Path(sys.prefix).resolve() != VENV.resolve():
        target = script or Path(__file__).resolve()
        os.execv(str(VENV_PY), [str(VENV_PY), str(target), *sys.argv[1:]])


# ----------------------------------------------------------------------------------------------
# Servers
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ServerDef:
    key: str
    label: str
    module: str                 # under bench/servers, attribute `asgi`
    runner: str = "uvicorn"     # or "granian"
    env: tuple[tuple[str, str], ...] = ()
    redis: bool = False         # EDGEMCP_STORE points at the benchmark's redis-server
    note: str = ""
    baseline: bool = False      # imports edgemcp from the --baseline snapshot, not this checkout
    upstream: str = ""          # a server key started alongside (on the wrk core) as this one's upstream


SERVERS = [
    ServerDef("raw", "bare raw ASGI", "bare_asgi"),
    ServerDef("starlette", "bare Starlette", "bare_starlette"),
    ServerDef("edgemcp", "edgemcp", "edgemcp_app"),
    ServerDef("edgemcp-redis", "edgemcp (Redis store)", "edgemcp_app", redis=True),
    ServerDef("edgemcp-cached", "edgemcp cached tool (memory store)", "edgemcp_cached"),
    ServerDef("edgemcp-cached-redis", "edgemcp cached tool (Redis store)", "edgemcp_cached", redis=True),
    ServerDef("edgemcp-guarded", "edgemcp + bearer auth + both rate-limit layers (memory store)",
              "edgemcp_guarded"),
    ServerDef("edgemcp-noaudit", "edgemcp, audit log off", "edgemcp_noaudit"),
    ServerDef("edgemcp-task-create", "edgemcp: tools/call that creates a task (memory store)", "edgemcp_tasks"),
    ServerDef("edgemcp-task-get", "edgemcp: tasks/get of a completed task (memory store)", "edgemcp_tasks"),
    ServerDef("edgemcp-traced", "edgemcp + OpenTelemetry SDK (a span per request, to memory)", "edgemcp_traced"),
    ServerDef("starlette-traced", "bare Starlette + one OpenTelemetry SDK span per request", "bare_starlette_traced"),
    ServerDef("sdk-lowlevel", "official SDK low-level Server (stateless, JSON)", "sdk_lowlevel"),
    ServerDef("sdk-mcpserver", "official SDK MCPServer (stateless, JSON)", "sdk_mcpserver"),
    ServerDef("fastmcp", "FastMCP 4.1.6 (stateless, JSON)", "fastmcp_app"),
    ServerDef("edgemcp-routed", "edgemcp router → edgemcp (upstream on the other core)", "edgemcp_router",
              upstream="edgemcp"),
    ServerDef("fastmcp-proxy", "FastMCP 4.1.6 proxy → edgemcp (upstream on the other core)", "fastmcp_proxy",
              upstream="edgemcp"),
    ServerDef("downstream-stub", "stub downstream service (answers after 20 ms)", "downstream_stub"),
    ServerDef("starlette-downstream", "bare Starlette awaiting the downstream call", "starlette_downstream",
              upstream="downstream-stub"),
    ServerDef("edgemcp-downstream", "edgemcp, uncached tool awaiting the downstream call (cold)",
              "edgemcp_downstream", upstream="downstream-stub"),
    ServerDef("edgemcp-downstream-hit", "edgemcp, the same tool cached: every call a hit (memory store)",
              "edgemcp_downstream", upstream="downstream-stub"),
    ServerDef("edgemcp-downstream-hit-redis", "edgemcp, the same tool cached: every call a hit (Redis store)",
              "edgemcp_downstream", redis=True, upstream="downstream-stub"),
    ServerDef("raw-granian", "bare raw ASGI", "bare_asgi", runner="granian"),
    ServerDef("starlette-granian", "bare Starlette", "bare_starlette", runner="granian"),
    ServerDef("edgemcp-granian", "edgemcp", "edgemcp_app", runner="granian"),
]
BY_KEY = {s.key: s for s in SERVERS}

COLD_START = [  # (label, module) for `python -c 'import servers.<module>'`
    ("bare raw ASGI", "bare_asgi"),
    ("bare Starlette", "bare_starlette"),
    ("edgemcp", "edgemcp_app"),
    ("official SDK low-level Server", "sdk_lowlevel"),
    ("official SDK MCPServer", "sdk_mcpserver"),
    ("FastMCP 4.1.6", "fastmcp_app"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SNAPSHOT: Path | None = None   # a copy of src/ taken when the run starts (see snapshot_source)


def snapshot_source() -> dict[str, str]:
    """Copy src/edgemcp to a temp dir that every benchmark process imports first.

    The repository may change while a 30-minute run goes on (a commit, an edit): every repetition
    and the cold start must measure the same code, the code named in the results.
    """
    global SNAPSHOT
    root = Path(tempfile.mkdtemp(prefix="bench-src-"))
    shutil.copytree(REPO / "src" / "edgemcp", root / "edgemcp", ignore=shutil.ignore_patterns("__pycache__"))
    SNAPSHOT = root
    digest = hashlib.sha256()
    for f in sorted((root / "edgemcp").rglob("*")):
        if f.is_file():
            digest.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes())
    git = ["git", "-C", str(REPO)]
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run([*git, "status", "--porcelain", "--", "src"], capture_output=True, text=True).stdout.strip()
    return {"commit": commit or "?", "src_modified": "yes" if dirty else "no",
            "src_sha256": digest.hexdigest()[:12], "path": str(root)}


BASELINE: Path | None = None   # src/ of the --baseline revision (see snapshot_baseline)


def snapshot_baseline(rev: str) -> str:
    """Export ``rev``'s src/edgemcp (git archive) for the ``@base`` servers; returns its commit."""
    global BASELINE
    git = ["git", "-C", str(REPO)]
    commit = subprocess.run([*git, "rev-parse", "--short", rev], capture_output=True, text=True)
    if commit.returncode != 0:
        raise SystemExit(f"--baseline {rev}: not a revision of this repository")
    root = Path(tempfile.mkdtemp(prefix="bench-base-"))
    archive = subprocess.run([*git, "archive", "--format=tar", rev, "src/edgemcp"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive.stdout, check=True)
    BASELINE = root / "src"
    return commit.stdout.strip()


def with_baseline(servers: list[ServerDef], workloads: list[Workload], commit: str
                  ) -> tuple[list[ServerDef], list[Workload]]:
    """Every edgemcp server gets a twin ``KEY@base`` running the baseline revision, measured
    right after it in every workload (same repetition, same machine state)."""
    twins = {s.key: replace(s, key=f"{s.key}@base", label=f"{s.label} @ {commit}", baseline=True)
             for s in servers if s.key.startswith("edgemcp")}
    paired = [replace(w, servers=tuple(k for key in w.servers for k in (key, f"{key}@base")
                                       if k == key or key in twins)) for w in workloads]
    return [*servers, *twins.values()], paired


def source_changed(snap: dict[str, str]) -> bool:
    digest = hashlib.sha256()
    for f in sorted((REPO / "src" / "edgemcp").rglob("*")):
        if f.is_file() and "__pycache__" not in f.parts:
            digest.update(str(f.relative_to(REPO / "src")).encode() + b"\0" + f.read_bytes())
    return digest.hexdigest()[:12] != snap["src_sha256"]


def child_env(extra: dict[str, str] | None = None, baseline: bool = False) -> dict[str, str]:
    env = dict(os.environ)
    # Bytecode is cached (in bench/.venv/pycache): a deployment has .pyc files, and without
    # them every import of edgemcp's editable source would be compiled again.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    source = BASELINE if baseline else SNAPSHOT
    env["PYTHONPATH"] = os.pathsep.join([*([str(source)] if source else []), str(BENCH)])
    env["EDGEMCP_SECRET"] = SECRET
    env.pop("EDGEMCP_STORE", None)
    env.update(extra or {})
    return env


_TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of one process (all its threads)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK
    except (OSError, IndexError, ValueError):
        return 0.0


def cpu_times(cpu: int) -> tuple[float, float, float]:
    """(busy, steal, total) seconds of one CPU from /proc/stat."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(f"cpu{cpu} "):
            v = [int(x) for x in line.split()[1:]]
            user, nice, system, _idle, _iowait, irq, softirq, steal = v[:8]
            busy = user + nice + system + irq + softirq
            return busy / _TICK, steal / _TICK, sum(v[:8]) / _TICK
    return 0.0, 0.0, 0.0


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def descendants(pid: int) -> list[int]:
    out: list[int] = []
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return out
    for c in children:
        out.append(int(c))
        out.extend(descendants(int(c)))
    return out


class Server:
    def __init__(self, definition: ServerDef, cpu: int, redis_url: str | None,
                 upstream: Server | None = None) -> None:
        self.d = definition
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.upstream = upstream
        extra = {"EDGEMCP_STORE": redis_url} if definition.redis and redis_url else {}
        extra.update(dict(definition.env))
        if upstream is not None:
            extra["BENCH_UPSTREAM_URL"] = upstream.url
        target = f"servers.{definition.module}:asgi"
        if definition.runner == "uvicorn":
            cmd = [str(VENV_PY), "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(self.port),
                   "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
                   "--lifespan", "on"]
        else:
            cmd = [str(VENV / "bin" / "granian"), "--interface", "asgi", "--host", "127.0.0.1",
                   "--port", str(self.port), "--workers", "1", "--runtime-threads", "1", "--loop", "uvloop",
                   "--http", "1", "--no-ws", "--log-level", "warning", target]
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed in stop())
            prefix=f"bench-{definition.key}-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(["taskset", "-c", str(cpu), *cmd], cwd=BENCH,
                                     env=child_env(extra, definition.baseline),
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.rss_after_start: int | None = None

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.d.key} exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.d.key} did not listen within {timeout} s:\n{self.tail()}")

    def worker_pid(self) -> int:
        """The process that serves requests (granian forks a worker; uvicorn serves itself)."""
        kids = descendants(self.proc.pid)
        pythons = [p for p in [self.proc.pid, *kids] if "python" in _exe(p) or "granian" in _cmdline(p)]
        return pythons[-1] if pythons else self.proc.pid

    def rss(self) -> int | None:
        return rss_kib(self.worker_pid())

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self) -> str:
        self.log.flush()
        try:
            return Path(self.log.name).read_text()[-3000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.upstream is not None:
            self.upstream.stop()
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)   # our own process group (start_new_session)
                self.proc.wait(10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


def _exe(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return ""


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


class Redis:
    def __init__(self, cpu: int) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise SystemExit("redis-server not found (Debian: apt-get install redis-server)")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = subprocess.Popen(
            ["taskset", "-c", str(cpu), exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--protected-mode", "yes", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise SystemExit("redis-server did not start") from None
                time.sleep(0.05)
        self.version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.split()[2]

    def flushall(self) -> None:
        import redis
        redis.Redis(port=self.port).flushall()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


# ----------------------------------------------------------------------------------------------
# Requests and their checks (the same spec drives the Python check and the wrk Lua script)
# ----------------------------------------------------------------------------------------------

def _meta() -> dict[str, Any]:
    return {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}


def _body(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"))


def _headers(**extra: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "Accept": ACCEPT, **extra}


_FORBID_ERRORS = ['"error":{', '"isError":true']


def step_modern_call(tool: str = "echo", rid: int = 1, expect_extra: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "path": "/mcp", "id": rid, "status": 200,
        "headers": _headers(**{"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": tool}),
        "body": _body({"jsonrpc": "2.0", "id": rid, "method": "tools/call",
                       "params": {"name": tool, "arguments": {"text": ECHO_TEXT}, "_meta": _meta()}}),
        "expect": [f'"text":"{ECHO_TEXT}"', f'"id":{rid}', *expect_extra], "forbid": _FORBID_ERRORS,
    }


QUOTE_TEXT = "ACME:42.17"   # the stub downstream service's answer (servers/downstream_stub.py)


def step_quote(tool: str, rid: int = 1, expect_extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """tools/call of workload (j)'s quote tool: the reply must carry the stub's answer."""
    return {
        "path": "/mcp", "id": rid, "status": 200,
        "headers": _headers(**{"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": tool}),
        "body": _body({"jsonrpc": "2.0", "id": rid, "method": "tools/call",
                       "params": {"name": tool, "arguments": {"symbol": "ACME"}, "_meta": _meta()}}),
        "expect": [f'"text":"{QUOTE_TEXT}"', f'"id":{rid}', *expect_extra], "forbid": _FORBID_ERRORS,
    }


def authorized(server_key: str, step: dict[str, Any]) -> dict[str, Any]:
    """The step with the bench agent's bearer token, for the guarded server (and its
    ``--baseline`` twin)."""
    if server_key.split("@")[0] == "edgemcp-guarded":
        step["headers"] = {**step["headers"], "Authorization": "Bearer bench-token-0123456789"}
    return step


def step_guarded_call(rid: int = 1) -> dict[str, Any]:
    return authorized("edgemcp-guarded", step_modern_call("echo", rid))


def step_modern_add(rid: int = 7) -> dict[str, Any]:
    return {
        "path": "/mcp", "id": rid, "status": 200,
        "headers": _headers(**{"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": "add"}),
        "body": _body({"jsonrpc": "2.0", "id": rid, "method": "tools/call",
                       "params": {"name": "add", "arguments": {"a": 2, "b": 3}, "_meta": _meta()}}),
        "expect": ['"result":5', f'"id":{rid}'], "forbid": _FORBID_ERRORS,
    }


def step_modern(method: str, rid: int, expect: list[str]) -> dict[str, Any]:
    return {
        "path": "/mcp", "id": rid, "status": 200,
        "headers": _headers(**{"MCP-Protocol-Version": MODERN, "Mcp-Method": method}),
        "body": _body({"jsonrpc": "2.0", "id": rid, "method": method, "params": {"_meta": _meta()}}),
        "expect": [f'"id":{rid}', *expect], "forbid": _FORBID_ERRORS,
    }


def step_handshake_call(rid: int = 1) -> dict[str, Any]:
    return {
        "path": "/mcp", "id": rid, "status": 200,
        "headers": _headers(**{"MCP-Protocol-Version": HANDSHAKE}),
        "body": _body({"jsonrpc": "2.0", "id": rid, "method": "tools/call",
                       "params": {"name": "echo", "arguments": {"text": ECHO_TEXT}}}),
        "expect": [f'"text":"{ECHO_TEXT}"', f'"id":{rid}'], "forbid": _FORBID_ERRORS,
    }


TASKS = {"io.modelcontextprotocol/tasks": {}}


def _task_meta() -> dict[str, Any]:
    return {"io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": {"extensions": TASKS}}


def step_task_create(rid: int = 1) -> dict[str, Any]:
    """tools/call of a task tool by a client that declares the tasks extension: the reply is
    the task's handle (its record is in the store before it goes out)."""
    return {
        "path": "/mcp", "id": rid, "status": 200,
        "headers": _headers(**{"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": "task_echo"}),
        "body": _body({"jsonrpc": "2.0", "id": rid, "method": "tools/call",
                       "params": {"name": "task_echo", "arguments": {"text": ECHO_TEXT}, "_meta": _task_meta()}}),
        "expect": ['"resultType":"task"', '"status":"working"', '"taskId":"', f'"id":{rid}'],
        "forbid": _FORBID_ERRORS,
    }


def step_task_get(task_id: str, rid: int = 1) -> dict[str, Any]:
    """tasks/get of a completed task: its result inlined."""
    return {
        "path": "/mcp", "id": rid, "status": 200,
        "headers": _headers(**{"MCP-Protocol-Version": MODERN, "Mcp-Method": "tasks/get", "Mcp-Name": task_id}),
        "body": _body({"jsonrpc": "2.0", "id": rid, "method": "tasks/get",
                       "params": {"taskId": task_id, "_meta": _task_meta()}}),
        "expect": [f'"taskId":"{task_id}"', '"status":"completed"', f'"text":"{ECHO_TEXT}"', f'"id":{rid}'],
        "forbid": _FORBID_ERRORS,
    }


def completed_task(server: Server) -> str:
    """A task created on ``server`` and polled until it completed: the one workload (h) gets."""
    status, _, body = http_post(server.url, step_task_create())
    if status != 200 or '"taskId"' not in body:
        raise VerificationError(f"{server.d.key}: creating a task failed: {status} {body[:300]}")
    task_id = json.loads(body)["result"]["taskId"]
    for _ in range(100):
        status, _, body = http_post(server.url, step_task_get(task_id))
        if check(step_task_get(task_id), status, body) is None:
            return task_id
        time.sleep(0.02)
    raise VerificationError(f"{server.d.key}: task {task_id} did not complete: {body[:300]}")


def prime(server: Server, step: dict[str, Any]) -> None:
    """One checked call that fills a cached tool's entry, so the measured calls all hit."""
    status, _, body = http_post(server.url, step)
    err = check(step, status, body)
    if err:
        raise VerificationError(f"{server.d.key}: priming the cache failed: {err}: {body[:300]}")


def downstream_served(server: Server) -> int | None:
    """How many calls the server's stub downstream service has answered (workload j), or None."""
    import http.client
    if server.upstream is None or server.upstream.d.module != "downstream_stub":
        return None
    conn = http.client.HTTPConnection("127.0.0.1", server.upstream.port, timeout=10)
    try:
        conn.request("GET", "/count")
        return int(json.loads(conn.getresponse().read())["served"])
    except OSError:
        return None   # the stub is gone: the cold rows' replies fail their checks anyway
    finally:
        conn.close()


def check_downstream(run: Run, server: Server, before: int | None) -> None:
    """A cold row's replies each went downstream; a cache hit's did not (else the run is invalid)."""
    after = downstream_served(server)
    if before is None or after is None:
        return
    run.downstream_calls = after - before   # warm-up and measured run together
    cold = "-hit" not in server.d.key
    if cold and run.downstream_calls < run.requests:
        problem = f"only {run.downstream_calls} downstream calls for {run.requests} replies"
    elif not cold and run.downstream_calls:
        problem = f"{run.downstream_calls} downstream calls (a cache hit makes none)"
    else:
        return
    run.invalid = "; ".join(filter(None, [run.invalid, problem]))


TOOLS_LISTED = ['"name":"echo"', '"name":"add"', '"name":"repeat"']


def handshake_steps(require_session: bool) -> list[dict[str, Any]]:
    return [
        {"path": "/mcp", "id": 1, "status": 200, "headers": _headers(),
         "body": _body({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                        "params": {"protocolVersion": HANDSHAKE, "capabilities": {},
                                   "clientInfo": {"name": "bench", "version": "1.0"}}}),
         "expect": [f'"protocolVersion":"{HANDSHAKE}"', '"id":1'], "forbid": _FORBID_ERRORS,
         "capture_session": True, "require_session": require_session},
        {"path": "/mcp", "status": 202, "headers": _headers(**{"MCP-Protocol-Version": HANDSHAKE}),
         "body": _body({"jsonrpc": "2.0", "method": "notifications/initialized"}),
         "expect": [], "forbid": [], "use_session": True},
        {"path": "/mcp", "id": 3, "status": 200, "headers": _headers(**{"MCP-Protocol-Version": HANDSHAKE}),
         "body": _body({"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {}}),
         "expect": ['"id":3', *TOOLS_LISTED], "forbid": _FORBID_ERRORS, "use_session": True},
    ]


@dataclass
class Spec:
    mode: str                                   # "cycle" or "chain"
    steps: list[dict[str, Any]]
    sessions: list[str] = field(default_factory=list)

    def to_lua(self) -> str:
        return "return " + _lua({"mode": self.mode, "steps": self.steps, "sessions": self.sessions}) + "\n"


def _lua(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        assert v.isascii()
        return json.dumps(v)    # ASCII JSON string escapes (\" \\ \n) are valid Lua
    if isinstance(v, list):
        return "{" + ", ".join(_lua(x) for x in v) + "}"
    if isinstance(v, dict):
        return "{" + ", ".join(f"[{json.dumps(k)}] = {_lua(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def http_post(url: str, step: dict[str, Any], session: str | None = None) -> tuple[int, dict[str, str], str]:
    import http.client
    from urllib.parse import urlsplit
    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    headers = dict(step["headers"])
    if session is not None:
        headers["Mcp-Session-Id"] = session
    try:
        conn.request("POST", u.path, body=step["body"].encode(), headers=headers)
        resp = conn.getresponse()
        body = resp.read().decode("utf-8", "replace")
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
    finally:
        conn.close()


def check(step: dict[str, Any], status: int, body: str) -> str | None:
    """The same check as mcp.lua's verify()."""
    if status != step["status"]:
        return f"unexpected status {status} (wanted {step['status']})"
    compact = re.sub(r"\s", "", body)
    for e in step.get("expect", []):
        if e not in compact:
            return f"missing {e}"
    for e in step.get("forbid", []):
        if e in compact:
            return f"found {e}"
    return None


def verify(server: Server, spec: Spec) -> None:
    """One real request per step, checked, before any throughput counts."""
    if spec.mode == "chain":
        session = None
        for step in spec.steps:
            status, headers, body = http_post(server.url, step, session if step.get("use_session") else None)
            err = check(step, status, body)
            if err:
                raise VerificationError(f"{server.d.key}: {err}: {body[:400]}")
            if step.get("capture_session"):
                session = headers.get("mcp-session-id")
                if session is None and step.get("require_session"):
                    raise VerificationError(f"{server.d.key}: initialize returned no Mcp-Session-Id")
        return
    for step in spec.steps:
        for sid in spec.sessions or [None]:
            status, _, body = http_post(server.url, step, sid)
            err = check(step, status, body)
            if err:
                raise VerificationError(f"{server.d.key}: {err}: {body[:400]}")


class VerificationError(Exception):
    pass


def open_sessions(server: Server, n: int) -> list[str]:
    """Handshake-era sessions for workload (b): initialize + notifications/initialized each."""
    init, initialized, _ = handshake_steps(require_session=True)
    out = []
    for _ in range(n):
        status, headers, body = http_post(server.url, init)
        err = check(init, status, body)
        sid = headers.get("mcp-session-id")
        if err or not sid:
            raise VerificationError(f"{server.d.key}: initialize failed: {err or 'no session id'}: {body[:300]}")
        status, _, body = http_post(server.url, initialized, sid)
        if status != 202:
            raise VerificationError(f"{server.d.key}: notifications/initialized answered {status}: {body[:300]}")
        out.append(sid)
    return out


# ----------------------------------------------------------------------------------------------
# Workloads
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Workload:
    key: str
    title: str
    servers: tuple[str, ...]
    unit: str = "req/s"            # what the headline figure counts
    chain: bool = False            # one connection per wrk thread
    full_concurrency: tuple[int, ...] = (16,)
    note: str = ""
    reference: str = "starlette"   # what the ×bare column divides by (granian rows: starlette-granian)


WORKLOADS = [
    Workload("call", "(a) tools/call echo, protocol 2026-07-28",
             ("raw", "starlette", "edgemcp", "sdk-lowlevel", "sdk-mcpserver", "fastmcp",
              "raw-granian", "starlette-granian", "edgemcp-granian"),
             full_concurrency=(1, 16, 64),
             note="Every server speaks 2026-07-28 (mcp 2.3.0 and FastMCP 4.1.6 route it by the "
                  "MCP-Protocol-Version header to the SDK's per-request path), so no fallback was needed."),
    Workload("session", "(b) tools/call echo, protocol 2025-11-25 with a session",
             ("raw", "starlette", "edgemcp", "edgemcp-redis"),
             note="16 sessions opened first (initialize + notifications/initialized), then every request "
                  "carries one of them (rotated) in Mcp-Session-Id. The bare apps ignore the header: they "
                  "are the ceiling, not a session implementation. The SDK and FastMCP run stateless "
                  "(no sessions), so they are not in this table."),
    Workload("handshake", "(c) handshake sequence: initialize + notifications/initialized + tools/list",
             ("raw", "starlette", "edgemcp", "edgemcp-redis", "sdk-lowlevel", "sdk-mcpserver", "fastmcp"),
             unit="seq/s", chain=True,
             note="wrk chains the three requests on one connection per thread (-t16 -c16), sending back "
                  "the Mcp-Session-Id from initialize; the figure is complete, verified sequences per "
                  "second. edgemcp creates a real session per sequence (never deleted, as most clients "
                  "do not); the SDK and FastMCP are stateless and hand out none; the bare apps hand out "
                  "a random id they never check."),
    Workload("discover", "(d) server/discover + tools/list, protocol 2026-07-28 (alternating)",
             ("raw", "starlette", "edgemcp", "sdk-lowlevel", "sdk-mcpserver", "fastmcp"),
             note="Requests alternate between server/discover and tools/list (ten tools); req/s counts both."),
    Workload("cached", "(e) cached tool hit, protocol 2026-07-28",
             ("starlette", "edgemcp", "edgemcp-cached", "edgemcp-cached-redis"),
             note="edgemcp's `cached_echo` has cache_ttl=3600, cache_scope=\"public\"; every measured reply "
                  "must say `\"dev.edgemcp/cache\":\"hit\"`. bare Starlette and edgemcp run the plain "
                  "(uncached) echo call for reference."),
    Workload("observability", "(g) tools/call with the audit log off, on (the default) and with OpenTelemetry, 2026-07-28",
             ("starlette", "starlette-traced", "edgemcp-noaudit", "edgemcp", "edgemcp-traced"),
             note="edgemcp writes one JSON audit record per tool call to stdout (here: the server's log file) "
                  "by default; edgemcp-noaudit turns it off (`audit=False`). edgemcp-traced adds the "
                  "OpenTelemetry SDK: a SERVER span per request through a SimpleSpanProcessor into an "
                  "in-memory exporter (last 1,000 spans kept). starlette-traced is bare Starlette "
                  "opening one SDK span per request the same way: what the SDK alone costs. Issue 6: "
                  "audit on costs at most 10% (edgemcp ≥ 0.9× edgemcp-noaudit); traced at least 0.8× "
                  "untraced (edgemcp-traced ≥ 0.8× edgemcp)."),
    Workload("router", "(h) tools/call through a router, protocol 2026-07-28",
             ("starlette", "edgemcp", "edgemcp-routed", "fastmcp-proxy"),
             full_concurrency=(1, 16),
             note="edgemcp-routed is edgemcp's Router (memory store) in front of an edgemcp server; fastmcp-proxy "
                  "is FastMCP's create_proxy in front of the same. The upstream runs on the other core (with "
                  "wrk), so the server's core runs only the router; the direct edgemcp row is the same "
                  "upstream called without a hop. Issue 12: routed ≥ 0.5× direct; the added latency at c=1 "
                  "is the p50/p99 difference between the routed and direct rows."),
    Workload("tasks", "(i) tasks: creating one, and one tasks/get, next to a plain tools/call, 2026-07-28",
             ("starlette", "edgemcp", "edgemcp-task-create", "edgemcp-task-get"),
             note="edgemcp-task-create calls `task_echo` (task=\"optional\") declaring the tasks extension: each "
                  "reply is a task handle, given once the task's record (its input sealed) is in the memory "
                  "store, the call's count against the caller's limit taken and its lease held; the echo then "
                  "runs in the background and its result is written back. edgemcp-task-get asks `tasks/get` "
                  "for one completed task (its result inlined). edgemcp is the plain `echo` tools/call: the "
                  "ratios below compare both with it, in the same run."),
    Workload("guarded", "(f) tools/call with guards on (bearer auth, agent + tool rate limits), 2026-07-28",
             ("starlette", "edgemcp", "edgemcp-guarded"),
             note="edgemcp-guarded checks a bearer token (SHA-256 + constant-time compare) and takes a token "
                  "from two buckets (agent and tool) in the memory store on every call; the budgets are far "
                  "above what a run spends, so every call passes. Compare its req/s with the unguarded "
                  "edgemcp row of the same table (issue 5: guarded at least 0.75 of unguarded)."),
    Workload("downstream", "(j) a tool awaiting a 20 ms downstream HTTP call: cold, and a cache hit, 2026-07-28",
             ("starlette-downstream", "edgemcp-downstream", "edgemcp-downstream-hit", "edgemcp-downstream-hit-redis"),
             full_concurrency=(1, 16, 64), reference="starlette-downstream",
             note="Each server has its own stub downstream service (uvicorn, on the wrk core) that answers any "
                  "GET with a small JSON quote after `await asyncio.sleep(0.02)`. The tool `quote(symbol)` GETs "
                  "it through one shared httpx.AsyncClient (keep-alive) and returns `ACME:42.17`, the stub's "
                  "answer, which every reply must carry. bare Starlette makes the same call in its route "
                  "(×bare divides by it here). edgemcp-downstream calls the uncached `quote`: every call goes "
                  "downstream (cold). The hit rows call `cached_quote` (cache_ttl=60, public scope), primed "
                  "before each run: every measured reply must say `\"dev.edgemcp/cache\":\"hit\"`. The harness "
                  "also counts the stub's answers around each run: at least one per reply for the cold rows, "
                  "none for the hit rows, or the run is INVALID. At c=64 the cold rows are bound by the "
                  "client, not the wait: httpx 0.28's pool (httpcore 1.0.9) costs more CPU per request the "
                  "more connections are busy (measured alone: about 1 ms per call at 16, 6 ms at 64)."),
]


def spec_for(workload: Workload, server: Server, sessions: list[str] | None = None) -> Spec:
    key = server.d.key.split("@")[0]  # a --baseline twin ("KEY@base") sends what KEY does
    if workload.key == "call":
        return Spec("cycle", [step_modern_call()])
    if workload.key == "session":
        return Spec("cycle", [step_handshake_call()], sessions=sessions or [])
    if workload.key == "handshake":
        return Spec("chain", handshake_steps(require_session=key.startswith("edgemcp")))
    if workload.key == "discover":
        return Spec("cycle", [step_modern("server/discover", 1, ['"supportedVersions":[', f'"{MODERN}"']),
                              step_modern("tools/list", 2, TOOLS_LISTED)])
    if workload.key in ("observability", "router"):
        return Spec("cycle", [step_modern_call()])  # the bare apps and the proxies answer the same shape
    if workload.key == "guarded":
        return Spec("cycle", [step_guarded_call() if key == "edgemcp-guarded" else step_modern_call()])
    if workload.key == "tasks":
        if key == "edgemcp-task-create":
            return Spec("cycle", [step_task_create()])
        if key == "edgemcp-task-get":
            return Spec("cycle", [step_task_get(completed_task(server))])
        return Spec("cycle", [step_modern_call()])
    if workload.key == "downstream":
        if key.startswith("edgemcp-downstream-hit"):
            prime(server, step_quote("cached_quote"))
            return Spec("cycle", [step_quote("cached_quote", 1, ('"dev.edgemcp/cache":"hit"',))])
        return Spec("cycle", [step_quote("quote")])
    if workload.key == "cached":
        if key.startswith("edgemcp-cached"):
            return Spec("cycle", [step_modern_call("cached_echo", 1, ('"dev.edgemcp/cache":"hit"',))])
        return Spec("cycle", [step_modern_call()])
    raise ValueError(workload.key)


def baseline_key(server_key: str) -> str:
    return "starlette-granian" if server_key.endswith("-granian") else "starlette"


# ----------------------------------------------------------------------------------------------
# wrk
# ----------------------------------------------------------------------------------------------

@dataclass
class Run:
    rep: int
    workload: str
    server: str
    concurrency: int
    rps: float = 0.0
    seq_per_s: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    requests: int = 0
    failures: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    server_cpu_pct: float = 0.0    # the server process's CPU time / wall time during the measured run
    cpu_busy_pct: float = 0.0      # the server's core, all processes (others running there show up here)
    steal_pct: float = 0.0         # the hypervisor took the server's core from us
    invalid: str = ""              # why the run does not count ("" when it does)
    first_failure: str = ""
    downstream_calls: int | None = None   # workload (j): the stub's answers during warm-up + run


def wrk(url: str, spec: Spec, concurrency: int, threads: int, seconds: int, cpu: int) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", prefix="bench-spec-", suffix=".lua", delete=False) as f:
        f.write(spec.to_lua())
        spec_path = f.name
    try:
        cmd = ["taskset", "-c", str(cpu), "wrk", "-t", str(threads), "-c", str(concurrency),
               "-d", f"{seconds}s", "--timeout", "10s", "-s", str(LUA), url]
        proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "BENCH_SPEC": spec_path},
                              timeout=seconds + 60)
    finally:
        os.unlink(spec_path)
    result: dict[str, Any] | None = None
    fail = ""
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            result = json.loads(line[len("BENCH_RESULT "):])
        elif line.startswith("BENCH_FAIL "):
            fail = line[len("BENCH_FAIL "):]
    if result is None:
        raise RuntimeError(f"wrk produced no result (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    result["first_failure"] = fail
    return result


def measure(rep: int, workload: Workload, server: Server, spec: Spec, concurrency: int,
            args: argparse.Namespace) -> Run:
    threads = concurrency if workload.chain else 1
    run = Run(rep, workload.key, server.d.key, concurrency)
    if args.warmup > 0:
        wrk(server.url, spec, concurrency, threads, args.warmup, args.wrk_cpu)
    pid = server.worker_pid()
    cpu0, core0, t0 = proc_cpu_s(pid), cpu_times(args.server_cpu), time.monotonic()
    r = wrk(server.url, spec, concurrency, threads, args.duration, args.wrk_cpu)
    wall, core1 = time.monotonic() - t0, cpu_times(args.server_cpu)
    run.server_cpu_pct = round(100 * (proc_cpu_s(pid) - cpu0) / wall, 1)
    core_total = (core1[2] - core0[2]) or 1.0
    run.cpu_busy_pct = round(100 * (core1[0] - core0[0]) / core_total, 1)
    run.steal_pct = round(100 * (core1[1] - core0[1]) / core_total, 1)
    seconds = r["duration_us"] / 1e6
    run.requests = r["requests"]
    run.rps = r["requests"] / seconds
    run.seq_per_s = r["sequences"] / seconds
    run.p50_ms = r["latency_us"]["p50"] / 1000
    run.p99_ms = r["latency_us"]["p99"] / 1000
    run.failures = r["failures"]
    run.errors = r["errors"]
    run.first_failure = r["first_failure"]
    problems = []
    if r["failures"]:
        problems.append(f"{r['failures']} failed checks")
    socket_errors = {k: v for k, v in r["errors"].items() if v and k != "status"}
    if socket_errors:
        problems.append(f"socket errors {socket_errors}")
    if r["checked"] != r["requests"]:
        problems.append(f"{r['requests'] - r['checked']} replies not checked")
    if r["requests"] == 0:
        problems.append("no replies")
    if not server.alive():
        problems.append("server died")
    run.invalid = "; ".join(problems)
    return run


# ----------------------------------------------------------------------------------------------
# Cold start
# ----------------------------------------------------------------------------------------------

def cold_start(runs: int, cpu: int) -> dict[str, dict[str, Any]]:
    py = str(VENV_PY)
    env = child_env()
    targets = [("python -c pass", None), *COLD_START]

    def cmd(module: str | None) -> list[str]:
        code = "pass" if module is None else f"import servers.{module}"
        return ["taskset", "-c", str(cpu), py, "-c", code]

    for _, module in targets:   # warm the bytecode cache and the page cache; verify it imports
        p = subprocess.run(cmd(module), cwd=BENCH, env=env, capture_output=True, text=True)
        if p.returncode:
            raise RuntimeError(f"import of {module} failed:\n{p.stderr}")
    times: dict[str, list[float]] = {label: [] for label, _ in targets}
    for _ in range(runs):           # interleaved
        for label, module in targets:
            t0 = time.perf_counter()
            subprocess.run(cmd(module), cwd=BENCH, env=env, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times[label].append((time.perf_counter() - t0) * 1000)
    out: dict[str, dict[str, Any]] = {}
    for label, module in targets:
        rss = None
        if module is not None:
            code = (f"import servers.{module}\nfor l in open('/proc/self/status'):\n"
                    "    l.startswith('VmRSS:') and print(l.split()[1])")
            p = subprocess.run(["taskset", "-c", str(cpu), py, "-c", code], cwd=BENCH, env=env,
                               capture_output=True, text=True, check=True)
            rss = int(p.stdout.split()[-1])
        out[label] = {"module": module, "ms": times[label], "median_ms": statistics.median(times[label]),
                      "rss_after_import_kib": rss}
    return out


# ----------------------------------------------------------------------------------------------
# The run
# ----------------------------------------------------------------------------------------------

def machine_info(redis_version: str | None) -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    pkgs = {}
    for name in ("edgemcp", "mcp", "mcp-types", "fastmcp", "starlette", "pydantic", "pydantic-core",
                 "uvicorn", "uvloop", "httptools", "granian", "anyio", "redis"):
        try:
            pkgs[name] = version(name)
        except PackageNotFoundError:
            pkgs[name] = "-"
    wrk_v = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()
    return {
        "nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
        "python": platform.python_version(), "packages": pkgs,
        "redis_server": redis_version or "-", "wrk": wrk_v[0].split("[")[0].strip() if wrk_v else "?",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1 repetition, c=16 only, short runs (< 3 min)")
    ap.add_argument("--smoke", action="store_true",
                    help="check that the harness works (1 s runs, 1 cold-start run), results to a temp dir")
    ap.add_argument("--reps", type=int, help="repetitions (default 3; --quick: 1)")
    ap.add_argument("--duration", type=int, help="seconds per measured run (default 10; --quick: 2)")
    ap.add_argument("--warmup", type=int, help="seconds of warm-up before each run (default 2; --quick: 1)")
    ap.add_argument("--cold-runs", type=int, help="cold-start runs per server (default 15; --quick: 5)")
    ap.add_argument("--workloads", help="comma-separated subset of: " + ",".join(w.key for w in WORKLOADS))
    ap.add_argument("--servers", help="comma-separated subset of server keys (for quick A/B checks)")
    ap.add_argument("--no-granian", action="store_true", help="skip the granian rows")
    ap.add_argument("--no-cold-start", action="store_true")
    ap.add_argument("--wrk-cpu", type=int, default=0)
    ap.add_argument("--server-cpu", type=int, default=1)
    ap.add_argument("--out", type=Path, default=BENCH / "results")
    ap.add_argument("--workers", action=argparse.BooleanOptionalAction,
                    help="measure the Workers bridge in Pyodide (workers_bridge.py); default: on in full mode, "
                         "skipped with the reason printed when the harness or the project venv is missing")
    ap.add_argument("--workers-python", type=Path, default=REPO / ".venv" / "bin" / "python",
                    help="the project's dev venv Python, which runs workers_bridge.py (default: .venv/bin/python)")
    ap.add_argument("--baseline", metavar="REV",
                    help="also run every edgemcp server at git revision REV (keys KEY@base), interleaved")
    args = ap.parse_args()
    if args.smoke:
        args.quick = True
        args.duration, args.warmup, args.cold_runs = args.duration or 1, 0, args.cold_runs or 1
        if args.out == BENCH / "results":
            args.out = Path(tempfile.mkdtemp(prefix="bench-smoke-"))
    args.reps = args.reps or (1 if args.quick else 3)
    args.duration = args.duration or (2 if args.quick else 10)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.quick else 2)
    args.cold_runs = args.cold_runs or (5 if args.quick else 15)
    concurrencies = (16,) if args.quick else (1, 16, 64)
    if args.workers is None:
        args.workers = not args.quick

    ensure_venv()
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found (Debian: apt-get install wrk util-linux)")
    if (os.cpu_count() or 1) < 2:
        print("[bench] WARNING: fewer than 2 CPUs: wrk and the server share one core", flush=True)

    workloads = WORKLOADS
    if args.workloads:
        wanted = set(args.workloads.split(","))
        workloads = [w for w in WORKLOADS if w.key in wanted]
    if args.no_granian:
        workloads = [replace(w, servers=tuple(s for s in w.servers if not s.endswith("-granian")))
                     for w in workloads]
    if args.servers:
        keep = set(args.servers.split(","))
        workloads = [replace(w, servers=tuple(s for s in w.servers if s in keep)) for w in workloads]
    servers_defs = SERVERS
    base_commit = None
    if args.baseline:
        base_commit = snapshot_baseline(args.baseline)
        servers_defs, workloads = with_baseline(SERVERS, workloads, base_commit)
    by_key = {s.key: s for s in servers_defs}
    needed = sorted({s for w in workloads for s in w.servers}, key=lambda k: [s.key for s in servers_defs].index(k))

    started = time.monotonic()
    snap = snapshot_source()
    print(f"[bench] edgemcp source: commit {snap['commit']}, src/ modified: {snap['src_modified']}, "
          f"snapshot {snap['src_sha256']} in {snap['path']}", flush=True)
    workers_figures = None
    if args.workers:   # first, while src/ is still the snapshot's: the harness reads src/ itself
        import workers  # bench/workers.py
        print("[bench] the Workers bridge in Pyodide (workers_bridge.py)", flush=True)
        workers_figures = workers.measure(args.workers_python, 50 if args.quick else 200)
        if "skipped" in workers_figures:
            print(f"  workers   skipped: {workers_figures['skipped']}", flush=True)
    redis_srv = Redis(args.wrk_cpu) if any(by_key[k].redis for k in needed) else None
    runs: list[Run] = []
    rss: dict[str, dict[str, list[int]]] = {k: {"start": [], "load": []} for k in needed}
    verified: dict[str, str] = {}
    try:
        for rep in range(args.reps):
            print(f"[bench] repetition {rep + 1}/{args.reps}", flush=True)
            if redis_srv:
                redis_srv.flushall()
            servers: dict[str, Server] = {}
            try:
                for key in needed:
                    definition = by_key[key]
                    upstream = None
                    if definition.upstream:  # on the wrk core: the server's core serves only the server
                        upstream = Server(by_key[definition.upstream], args.wrk_cpu, None)
                        upstream.wait_ready()
                    servers[key] = Server(definition, args.server_cpu, redis_srv.url if redis_srv else None,
                                          upstream)
                for srv in servers.values():
                    srv.wait_ready()
                for key, srv in servers.items():   # the first real requests, then RSS "after start"
                    spec = Spec("cycle", [authorized(key, step_modern_call("cached_echo" if "cached" in key else "echo")),
                                          authorized(key, step_modern_add())])
                    verify(srv, spec)
                    kib = srv.rss()
                    if kib:
                        rss[key]["start"].append(kib)
                for w in workloads:
                    order = list(w.servers)
                    shift = rep % len(order)
                    order = order[shift:] + order[:shift]      # rotate the order every repetition
                    concs = [c for c in concurrencies if c in w.full_concurrency] or [16]
                    for c in concs:
                        for key in order:
                            srv = servers[key]
                            sessions = open_sessions(srv, 16) if w.key == "session" else None
                            spec = spec_for(w, srv, sessions)
                            try:
                                verify(srv, spec)
                                verified[f"{w.key}/{key}"] = "ok"
                            except VerificationError as e:
                                verified[f"{w.key}/{key}"] = str(e)
                                runs.append(Run(rep, w.key, key, c, invalid=f"verification failed: {e}"))
                                print(f"  {w.key:13} c={c:<3} {key:28} VERIFICATION FAILED: {e}", flush=True)
                                continue
                            before = downstream_served(srv)
                            run = measure(rep, w, srv, spec, c, args)
                            check_downstream(run, srv, before)
                            runs.append(run)
                            figure = f"{run.seq_per_s:9.0f} seq/s" if w.chain else f"{run.rps:9.0f} req/s"
                            flag = f"  INVALID: {run.invalid} {run.first_failure[:200]}" if run.invalid else ""
                            print(f"  {w.key:13} c={c:<3} {key:28} {figure}  p99 {run.p99_ms:6.1f} ms  server CPU "
                                  f"{run.server_cpu_pct:5.1f}%  core busy {run.cpu_busy_pct:5.1f}%{flag}", flush=True)
                for key, srv in servers.items():
                    kib = srv.rss()
                    if kib:
                        rss[key]["load"].append(kib)
            finally:
                for srv in servers.values():
                    srv.stop()
        cold = {} if args.no_cold_start else cold_start(args.cold_runs, args.server_cpu)
        info = machine_info(redis_srv.version if redis_srv else None)
    finally:
        if redis_srv:
            redis_srv.stop()
        for snapshot in (SNAPSHOT, BASELINE.parent if BASELINE else None):
            if snapshot:
                shutil.rmtree(snapshot, ignore_errors=True)
    info["commit"] = f"{snap['commit']}" + (" + uncommitted changes in src/" if snap["src_modified"] == "yes" else "")
    info["src_sha256"] = snap["src_sha256"]
    if base_commit:
        info["baseline"] = base_commit
    if source_changed(snap):
        info["source_note"] = ("src/ changed in the repository during the run; every process here imported the "
                               "snapshot taken at the start (sha256 prefix above), not the newer code")

    info["mode"] = "smoke" if args.smoke else "quick" if args.quick else "full"
    info["settings"] = {"reps": args.reps, "duration_s": args.duration, "warmup_s": args.warmup,
                        "concurrency": list(concurrencies), "cold_runs": args.cold_runs,
                        "wrk_cpu": args.wrk_cpu, "server_cpu": args.server_cpu,
                        "elapsed_s": round(time.monotonic() - started)}
    args.out.mkdir(parents=True, exist_ok=True)
    raw = {"machine": info, "runs": [r.__dict__ for r in runs], "rss_kib": rss, "cold_start": cold,
           "verification": verified, "workloads": [w.__dict__ for w in workloads],
           "servers": [s.__dict__ for s in servers_defs], "workers": workers_figures}
    (args.out / "results.json").write_text(json.dumps(raw, indent=1))
    from report import render  # bench/report.py
    md = render(raw, args.out)
    print()
    print(md)
    print(f"[bench] wrote {args.out / 'results.md'}, {args.out / 'throughput.png'}, {args.out / 'results.json'}")


if __name__ == "__main__":
    main()
