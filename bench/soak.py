#!/usr/bin/env python3
"""edgemcp soak: N minutes at a fraction of the measured peak, against two replicas on
Redis behind a balancer, with a realistic mix, optionally with faults injected.

    python bench/soak.py --minutes 10                # the soak: figures + chart in bench/results/soak/
    python bench/soak.py --minutes 2 --faults        # Redis restart + replica SIGKILL, then a
                                                     # Redis cluster losing a primary
    python bench/soak.py --minutes 1 --peak-seconds 10 --out /tmp/soak   # a quick check

Uses bench/.venv like bench/run.py (created on first use). Needs wrk, redis-server,
redis-cli, haproxy and taskset (Debian: apt-get install wrk redis-server haproxy). See
bench/README.md ("Soak") for the method and what every figure means.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import run as bench  # noqa: E402  (bench/run.py: the venv, the source snapshot, /proc readers)

SOAK_LUA = BENCH / "lua" / "soak.lua"
LOAD_CPU, SERVER_CPU = 0, 1
APP = "bench-soak"                      # the app's name: its keys are edgemcp:bench-soak:*
REPLY_TIMEOUT = 30.0                    # the app's reply_timeout (s): a pending reply's deadline
TASK_LEASE = 3.0                        # the app's task_lease (s)
IDEMPOTENCY_LEASE = 10.0                # edgemcp's default idempotency_lease (s)
RECOVERY = 5.0                          # seconds after Redis is back by which every answer is normal again
GUARD_RATE = "100/second"               # limited_echo's budget: the soak sends far more
KILL_SLACK = (1.0, 3.0)                 # answers lost with a killed replica: this window around the kill


# ----------------------------------------------------------------------------------------------
# Processes
# ----------------------------------------------------------------------------------------------

def wait_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout} s")


def stop_process(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> None:
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)   # its own process group (start_new_session)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


class RedisNode:
    """One redis-server on a fixed port (so it can be stopped and started again)."""

    def __init__(self, directory: Path, port: int, *, aof: bool, cluster: bool = False) -> None:
        self.directory, self.port, self.aof, self.cluster = directory, port, aof, cluster
        self.proc: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)

    def start(self) -> None:
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if self.aof else ["--appendonly", "no"]
        cluster = (["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                    "--cluster-node-timeout", "2000"] if self.cluster else [])
        self.proc = subprocess.Popen(
            ["taskset", "-c", str(LOAD_CPU), "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", *persistence, *cluster, "--dir", str(self.directory), "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_port(self.port, self.proc, f"redis-server :{self.port}")
        deadline = time.monotonic() + 60
        while self.cli("ping").strip() != "PONG":   # LOADING while it reads its AOF back
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server :{self.port} did not finish loading")
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM: Redis writes its AOF out and exits."""
        stop_process(self.proc)
        self.proc = None

    def kill(self) -> None:
        stop_process(self.proc, signal.SIGKILL)
        self.proc = None

    def cli(self, *args: str) -> str:
        return subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True, text=True,
                              timeout=10).stdout


class Store:
    """Standalone Redis (optionally with an fsync'd AOF) or a 3-primary + 3-replica cluster."""

    def __init__(self, root: Path, kind: str, aof: bool) -> None:
        self.kind = kind
        if kind == "cluster":
            ports = cluster_ports(6)
            self.nodes = [RedisNode(root / f"node{p}", p, aof=False, cluster=True) for p in ports]
        else:
            self.nodes = [RedisNode(root / "redis", bench.free_port(), aof=aof)]
        for node in self.nodes:
            node.start()
        if kind == "cluster":
            subprocess.run(["redis-cli", "--cluster", "create", *(f"127.0.0.1:{n.port}" for n in self.nodes),
                            "--cluster-replicas", "1", "--cluster-yes"], check=True, capture_output=True, timeout=60)
            self.wait_cluster_ok(60)
            self.wait_replicas(60)
            self.url = f"redis+cluster://127.0.0.1:{self.nodes[0].port}"
        else:
            self.url = f"redis://127.0.0.1:{self.nodes[0].port}/0"

    @property
    def main(self) -> RedisNode:
        return self.nodes[0]

    def alive(self) -> list[RedisNode]:
        return [n for n in self.nodes if n.proc is not None]

    def wait_cluster_ok(self, timeout: float, failed: RedisNode | None = None) -> float:
        """Wait until every live node says cluster_state:ok and knows a primary for each
        slot (and, given ``failed``, has marked that node failed: until then the cluster
        has not noticed its loss); returns time.time() then."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            live = self.alive()
            infos = [n.cli("cluster", "info") for n in live]
            noticed = failed is None or all(
                any(f":{failed.port}@" in line and " fail " in f" {line.split()[2].replace(',', ' ')} "
                    for line in n.cli("cluster", "nodes").splitlines()) for n in live)
            if noticed and infos and all("cluster_state:ok" in i and "cluster_slots_ok:16384" in i for i in infos):
                return time.time()
            time.sleep(0.1)
        raise RuntimeError("the Redis cluster did not reach cluster_state:ok")

    def wait_replicas(self, timeout: float) -> None:
        """Wait until every node knows three replicas and each has synced with its primary
        (cluster_state:ok comes first: a primary lost before then could not fail over)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            known = [sum("slave" in line.split()[2] for line in n.cli("cluster", "nodes").splitlines() if line)
                     for n in self.nodes]
            synced = sum("master_link_status:up" in n.cli("info", "replication") for n in self.nodes)
            if known == [3] * len(self.nodes) and synced == 3:
                return
            time.sleep(0.1)
        raise RuntimeError("the Redis cluster's replicas did not attach")

    def primary_with_replica(self) -> RedisNode:
        """A live primary that has a live replica (the one a failover can promote)."""
        lines = self.alive()[0].cli("cluster", "nodes").splitlines()
        by_id = {line.split()[0]: line.split() for line in lines}
        for fields in by_id.values():
            if "master" in fields[2] and "fail" not in fields[2]:
                port = int(fields[1].split(":")[1].split("@")[0])
                if any(f[3] == fields[0] and "fail" not in f[2] for f in by_id.values()):
                    return next(n for n in self.nodes if n.port == port)
        raise RuntimeError("no primary with a replica")

    def keys_with_ttl(self, pattern: str) -> dict[str, int]:
        """Every key matching ``pattern`` on the live primaries, with its PTTL (-1: none)."""
        out: dict[str, int] = {}
        for node in self.alive():
            if self.kind == "cluster" and "role:master" not in node.cli("info", "replication"):
                continue
            for key in node.cli("--scan", "--pattern", pattern).split():
                out[key] = int(node.cli("pttl", key).strip() or "-2")
        return out

    def close(self) -> None:
        for node in self.nodes:
            node.stop()


def cluster_ports(n: int) -> list[int]:
    """Free ports whose cluster bus ports (+10000) are free too."""
    ports: list[int] = []
    while len(ports) < n:
        port = bench.free_port()
        if port > 55000 or port in ports or port + 10000 in ports or any(p + 10000 == port for p in ports):
            continue
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port + 10000)) == 0:
                continue
        ports.append(port)
    return ports


class Replica:
    """One uvicorn replica of servers/edgemcp_soak.py, pinned to the server core. Audit
    lines (stdout) go nowhere: a 10-minute soak writes millions. stderr (warnings, any
    traceback) goes to a log kept across restarts."""

    def __init__(self, name: str, port: int, env: dict[str, str], log: Path) -> None:
        self.name, self.port, self.env, self.log = name, port, env, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.pids: list[int] = []

    def start(self) -> None:
        cmd = [str(bench.VENV_PY), "-m", "uvicorn", "servers.edgemcp_soak:asgi", "--host", "127.0.0.1",
               "--port", str(self.port), "--loop", "uvloop", "--http", "httptools", "--no-access-log",
               "--log-level", "warning", "--lifespan", "on"]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(["taskset", "-c", str(SERVER_CPU), *cmd], cwd=BENCH,
                                         env=bench.child_env({**self.env, "SOAK_REPLICA": self.name}),
                                         stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        wait_port(self.port, self.proc, f"replica {self.name}")
        self.pids.append(self.proc.pid)

    @property
    def pid(self) -> int | None:
        """The serving process (taskset execs uvicorn, so the same pid)."""
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    def kill(self) -> None:
        stop_process(self.proc, signal.SIGKILL)

    def stop(self) -> None:
        stop_process(self.proc)


class Balancer:
    """haproxy, round robin over the two replicas, health-checked every 500 ms. A request
    that carries ``X-Soak-Backend: a|b`` goes to that replica while it is up (the soak's
    cross-replica replies); a connection that fails is retried on the other replica; every
    answer says which replica gave it (``X-Soak-Served``)."""

    def __init__(self, root: Path, replicas: list[Replica]) -> None:
        self.port = bench.free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        servers = "\n".join(f"    server {r.name} 127.0.0.1:{r.port}" for r in replicas)
        pins = "\n".join(f"    use-server {r.name} if {{ req.hdr(x-soak-backend) -m str {r.name} }}" for r in replicas)
        config = root / "haproxy.cfg"
        config.write_text(f"""global
    maxconn 4000
    nbthread 1

defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    timeout http-keep-alive 60s
    retries 3
    option redispatch 1
    retry-on conn-failure
    # SSE: send each event at once (without it, haproxy's MSG_MORE holds small writes ~200 ms)
    option http-no-delay

frontend soak
    bind 127.0.0.1:{self.port}
    default_backend replicas

backend replicas
    balance roundrobin
    http-response set-header x-soak-served %s
    default-server check inter 500ms fall 1 rise 2
{pins}
{servers}
""")
        self.proc = subprocess.Popen(["taskset", "-c", str(LOAD_CPU), "haproxy", "-db", "-f", str(config)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_port(self.port, self.proc, "haproxy")

    def stop(self) -> None:
        stop_process(self.proc)


class Driver:
    """bench/soak_driver.py in its own process on the load core."""

    def __init__(self, url: str, records: Path, args: argparse.Namespace, run_id: str) -> None:
        cmd = [str(bench.VENV_PY), str(BENCH / "soak_driver.py"), "--url", url, "--records", str(records),
               "--flows", str(args.flows), "--calls", str(args.calls), "--writes", str(args.writes),
               "--run", run_id, "--claim-deadline", str(IDEMPOTENCY_LEASE), "--lease-deadline", str(TASK_LEASE)]
        self.proc = subprocess.Popen(["taskset", "-c", str(LOAD_CPU), *cmd], cwd=BENCH, env=bench.child_env(),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True)
        ready = self.receive(60)
        if ready.get("event") != "ready":
            raise RuntimeError(f"driver: {ready}")

    def send(self, command: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()

    def receive(self, timeout: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        box: list[str] = []
        reader = threading.Thread(target=lambda: box.append(self.proc.stdout.readline() if self.proc.stdout else ""),
                                  daemon=True)
        reader.start()
        reader.join(timeout)
        if not box or not box[0]:
            raise RuntimeError(f"driver said nothing within {timeout} s (exit {self.proc.poll()})")
        answer: dict[str, Any] = json.loads(box[0])
        return answer

    def stop(self) -> None:
        stop_process(self.proc)   # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------
# The bulk mix (wrk) and its checks
# ----------------------------------------------------------------------------------------------

TEXT = bench.ECHO_TEXT
UNAVAILABLE = {"class": "unavailable", "status": 503, "expect": ['"code":-32603'], "header": "retry-after"}


def call_step(tool: str, rid: int, expect: list[str], alts: list[dict[str, Any]]) -> dict[str, Any]:
    step = bench.step_modern_call(tool, rid)
    step["expect"] = [f'"text":"{TEXT}"', f'"id":{rid}', *expect]
    step["alts"] = [*alts, UNAVAILABLE]
    return step


def bulk_steps() -> list[dict[str, Any]]:
    """Ten steps sent in turn: 40 % plain calls, 20 % cached, 20 % downstream (20 ms),
    20 % guarded (mostly rate limited)."""
    cached_alts = [{"class": "cache_miss", "status": 200, "expect": ['"dev.edgemcp/cache":"miss"']},
                   {"class": "cache_unavailable", "status": 200, "expect": ['"dev.edgemcp/cache":"unavailable"']}]
    limited_alts = [{"class": "rate_limited", "status": 429, "expect": ['"code":-31429'], "header": "retry-after"}]
    kinds = ["echo", "cached_echo", "downstream", "echo", "limited_echo",
             "echo", "cached_echo", "downstream", "echo", "limited_echo"]
    steps = []
    for i, tool in enumerate(kinds, start=1):
        if tool == "cached_echo":
            steps.append(call_step(tool, i, ['"dev.edgemcp/cache":"hit"'], cached_alts))
        elif tool == "limited_echo":
            steps.append(call_step(tool, i, [], limited_alts))
        else:
            steps.append(call_step(tool, i, [], []))
    return steps


def step_tool(step: dict[str, Any]) -> str:
    return str(step["headers"]["Mcp-Name"])


def lua_spec(steps: list[dict[str, Any]], rate: float) -> str:
    return "return " + bench._lua({"rate": rate, "steps": steps}) + "\n"


def classify_once(url: str, step: dict[str, Any]) -> str:
    """One request from Python, classified like soak.lua does."""
    status, headers, body = bench.http_post(url, step)
    compact = re.sub(r"\s", "", body)

    def passes(check: dict[str, Any]) -> bool:
        return (status == check["status"] and all(e in compact for e in check.get("expect", []))
                and not any(e in compact for e in check.get("forbid", []))
                and (not check.get("header") or check["header"] in headers))
    if passes(step):
        return "ok"
    return next((alt["class"] for alt in step.get("alts", []) if passes(alt)), f"bad:{status}: {body[:300]}")


def wrk_window(url: str, steps: list[dict[str, Any]], rate: float, seconds: int, connections: int) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", prefix="soak-spec-", suffix=".lua", delete=False) as f:
        f.write(lua_spec(steps, rate))
    try:
        cmd = ["taskset", "-c", str(LOAD_CPU), "wrk", "-t1", "-c", str(connections), "-d", f"{seconds}s",
               "--timeout", "10s", "-s", str(SOAK_LUA), url]
        proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "SOAK_SPEC": f.name},
                              timeout=seconds + 60)
    finally:
        os.unlink(f.name)
    for line in proc.stdout.splitlines():
        if line.startswith("SOAK_RESULT "):
            result: dict[str, Any] = json.loads(line[len("SOAK_RESULT "):])
            return result
    raise RuntimeError(f"wrk produced no result (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


# ----------------------------------------------------------------------------------------------
# Faults
# ----------------------------------------------------------------------------------------------

@dataclass
class Fault:
    kind: str                      # "redis", "kill", "cluster"
    at: float                      # seconds into the soak
    start: float = 0.0             # time.time() when injected
    end: float = 0.0               # time.time() when the thing came back (Redis up, replica up, promoted)
    window: tuple[float, float] = (0.0, 0.0)   # when its expected errors may show
    notes: dict[str, Any] = field(default_factory=dict)


def schedule(args: argparse.Namespace, store_kind: str, soak_s: float) -> list[Fault]:
    if not args.faults:
        return []
    if store_kind == "cluster":
        return [Fault("cluster", 0.4 * soak_s)]
    return [Fault("redis", 0.25 * soak_s), Fault("kill", 0.55 * soak_s)]


class Injector(threading.Thread):
    """Runs the fault schedule beside the load."""

    def __init__(self, faults: list[Fault], t0: float, store: Store, replicas: list[Replica], driver: Driver,
                 redis_down: float) -> None:
        super().__init__(daemon=True)
        self.faults, self.t0, self.store, self.replicas, self.driver = faults, t0, store, replicas, driver
        self.redis_down = redis_down
        self.error: str | None = None

    def run(self) -> None:
        try:
            for fault in self.faults:
                time.sleep(max(0.0, self.t0 + fault.at - time.time()))
                getattr(self, f"_{fault.kind}")(fault)
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"

    def _redis(self, fault: Fault) -> None:
        node = self.store.main
        sessions_before = len(node.cli("--scan", "--pattern", f"edgemcp:{APP}:session:*").split())
        fault.start = time.time()
        node.stop()
        time.sleep(self.redis_down)
        node.start()
        fault.end = time.time()
        fault.window = (fault.start, fault.end + RECOVERY)
        fault.notes["sessions_before"] = sessions_before
        fault.notes["sessions_after_restart"] = len(node.cli("--scan", "--pattern",
                                                             f"edgemcp:{APP}:session:*").split())

    def _kill(self, fault: Fault) -> None:
        victim, survivor = self.replicas[0], self.replicas[1]
        self.driver.send({"cmd": "probe", "victim": victim.name})
        fault.notes["probe_ready"] = self.driver.receive(60)
        fault.start = time.time()
        victim.kill()
        fault.notes["victim"], fault.notes["survivor"] = victim.name, survivor.name
        self.driver.send({"cmd": "killed", "at": fault.start})
        time.sleep(5.0)
        victim.start()
        fault.end = time.time()
        fault.window = (fault.start - KILL_SLACK[0], fault.start + KILL_SLACK[1])
        fault.notes["probe"] = self.driver.receive(IDEMPOTENCY_LEASE + TASK_LEASE + 60)
        # What the dead replica's calls left in the store (and the reply its client sent
        # after the kill): each with a time to live no longer than its deadline ...
        checked = time.time()
        fault.notes["pending_after_probe"] = self.pending()
        # ... and gone once that deadline has passed.
        time.sleep(max(0.0, checked + REPLY_TIMEOUT + 1 - time.time()))
        fault.notes["pending_after_deadline"] = self.pending()

    def pending(self) -> dict[str, dict[str, int]]:
        """Keys a dead replica could leave behind: replies, idempotency claims, task leases."""
        return {kind: self.store.keys_with_ttl(f"edgemcp:{APP}:{kind}:*") for kind in ("reply", "idem", "task-lease")}

    def _cluster(self, fault: Fault) -> None:
        primary = self.store.primary_with_replica()
        fault.notes["primary"] = primary.port
        fault.start = time.time()
        primary.kill()
        fault.end = self.store.wait_cluster_ok(60, failed=primary)   # a replica promoted, every slot served
        fault.window = (fault.start, fault.end + RECOVERY)
        time.sleep(5)
        primary.start()                               # back, as a replica of the promoted one


# ----------------------------------------------------------------------------------------------
# One scenario: start, measure the peak, soak, check
# ----------------------------------------------------------------------------------------------

class Sampler(threading.Thread):
    """RSS of every replica process, once a second."""

    def __init__(self, replicas: list[Replica]) -> None:
        super().__init__(daemon=True)
        self.replicas = replicas
        self.samples: list[tuple[float, str, int, int]] = []   # (time, replica, pid, KiB)
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(1.0):
            for r in self.replicas:
                pid = r.pid
                kib = bench.rss_kib(pid) if pid else None
                if pid and kib:
                    self.samples.append((time.time(), r.name, pid, kib))


def scenario(name: str, store_kind: str, args: argparse.Namespace, root: Path) -> dict[str, Any]:
    print(f"[soak] scenario {name}: store {store_kind}, faults: {'yes' if args.faults else 'no'}", flush=True)
    work = root / name
    work.mkdir(parents=True)
    ledger = work / "ledger"
    ledger.mkdir()
    store = Store(work, store_kind, aof=args.faults)
    stub_port = bench.free_port()   # run.py's downstream stub (workload j): answers after 20 ms
    stub = subprocess.Popen(
        ["taskset", "-c", str(LOAD_CPU), str(bench.VENV_PY), "-m", "uvicorn", "servers.downstream_stub:asgi",
         "--host", "127.0.0.1", "--port", str(stub_port), "--loop", "uvloop", "--http", "httptools",
         "--no-access-log", "--log-level", "warning"],
        cwd=BENCH, env=bench.child_env(), stdout=subprocess.DEVNULL, start_new_session=True)
    wait_port(stub_port, stub, "downstream stub")
    env = {"EDGEMCP_STORE": store.url, "SOAK_LEDGER": str(ledger), "SOAK_GUARD_RATE": GUARD_RATE,
           "BENCH_UPSTREAM_URL": f"http://127.0.0.1:{stub_port}/quote", "SOAK_REPLY_TIMEOUT": str(REPLY_TIMEOUT),
           "SOAK_TASK_LEASE": str(TASK_LEASE)}
    replicas = [Replica(n, bench.free_port(), env, work / f"replica-{n}.log") for n in ("a", "b")]
    balancer: Balancer | None = None
    driver: Driver | None = None
    sampler = Sampler(replicas)
    try:
        for r in replicas:
            r.start()
        balancer = Balancer(work, replicas)
        steps = bulk_steps()
        for step in steps:   # every kind of request answers as it should before the load starts
            got = classify_once(balancer.url, step)
            if got not in ("ok", "cache_miss"):
                raise RuntimeError(f"{step_tool(step)} through the balancer: {got}")
        driver = Driver(balancer.url, work / "driver.jsonl", args, f"{name}-{int(time.time())}")
        sampler.start()

        processes = {"redis": [n.proc.pid for n in store.nodes if n.proc], "haproxy": [balancer.proc.pid],
                     "driver": [driver.proc.pid], "stub": [stub.pid], "replicas": [r.pid for r in replicas if r.pid]}
        peak = measure_peak(balancer.url, steps, args, processes)
        rate = round(args.fraction * peak["rps"])
        print(f"[soak] peak {peak['rps']:,.0f} req/s (p99 {peak['latency_us']['p99'] / 1000:.1f} ms, cores busy "
              f"{peak['cores_busy_pct']}, CPU % {peak['cpu_pct']}); soaking at {rate:,} req/s for {args.minutes} min",
              flush=True)

        # The peak leaves a backlog behind (requests its connections no longer wait for): let
        # it drain at the soak's own rate, unrecorded, so the first minute starts clean.
        wrk_window(balancer.url, steps, rate, args.settle_seconds, args.connections)
        soak_s = args.minutes * 60
        t0 = time.time()
        faults = schedule(args, store_kind, soak_s)
        injector = Injector(faults, t0, store, replicas, driver, args.redis_down)
        injector.start()
        windows = []
        while time.time() - t0 < soak_s - 1:
            seconds = int(min(args.window, soak_s - (time.time() - t0)))
            if seconds < 1:
                break
            cores0 = [bench.cpu_times(c) for c in (LOAD_CPU, SERVER_CPU)]
            start = time.time()
            result = wrk_window(balancer.url, steps, rate, seconds, args.connections)
            result.update(start=start, end=time.time(), cores_busy_pct=core_busy(cores0))
            windows.append(result)
            line = summarize_window(result)
            print(f"[soak] {start - t0:6.0f} s  {line}", flush=True)
        injector.join(timeout=REPLY_TIMEOUT + IDEMPOTENCY_LEASE + 120)
        driver.send({"cmd": "stop"})
        done = driver.receive(180)
        sampler.stopping.set()
        return {
            "name": name, "store": store_kind, "t0": t0, "soak_s": soak_s, "rate": rate, "peak": peak,
            "windows": windows, "steps": [step_tool(s) for s in steps],
            "faults": [f.__dict__ for f in faults], "injector_error": injector.error,
            "rss": sampler.samples, "driver_done": done,
            "driver_records": [json.loads(line) for line in (work / "driver.jsonl").read_text().splitlines()],
            "ledger": ledger_counts(ledger),
            "replica_logs": {r.name: tail(r.log) for r in replicas},
            "settings": {"fraction": args.fraction, "connections": args.connections, "window_s": args.window,
                         "flows_per_s": args.flows, "session_calls_per_s": args.calls, "writes_per_s": args.writes,
                         "guard_rate": GUARD_RATE, "reply_timeout_s": REPLY_TIMEOUT, "task_lease_s": TASK_LEASE,
                         "idempotency_lease_s": IDEMPOTENCY_LEASE, "recovery_s": RECOVERY,
                         "redis_down_s": args.redis_down, "aof": "always" if args.faults else "off"},
        }
    finally:
        sampler.stopping.set()
        if driver is not None:
            driver.stop()
        if balancer is not None:
            balancer.stop()
        for r in replicas:
            r.stop()
        stop_process(stub)
        store.close()


def measure_peak(url: str, steps: list[dict[str, Any]], args: argparse.Namespace,
                 processes: dict[str, list[int]]) -> dict[str, Any]:
    """A warm-up, then wrk unpaced: the rate the set-up gives, with how busy each core and
    each process (% of one core; wrk has the rest of the load core) was meanwhile."""
    print(f"[soak] warm-up {args.warmup_seconds} s, then the peak over {args.peak_seconds} s", flush=True)
    wrk_window(url, steps, 0, args.warmup_seconds, args.connections)
    cores0 = [bench.cpu_times(c) for c in (LOAD_CPU, SERVER_CPU)]
    cpu0 = {k: sum(bench.proc_cpu_s(p) for p in pids) for k, pids in processes.items()}
    started = time.monotonic()
    peak = wrk_window(url, steps, 0, args.peak_seconds, args.connections)
    elapsed = time.monotonic() - started
    peak["cores_busy_pct"] = core_busy(cores0)
    peak["cpu_pct"] = {k: round(100 * (sum(bench.proc_cpu_s(p) for p in pids) - cpu0[k]) / elapsed, 1)
                       for k, pids in processes.items()}
    peak["rps"] = peak["requests"] / (peak["duration_us"] / 1e6)
    return peak


def core_busy(before: list[tuple[float, float, float]]) -> list[float]:
    out = []
    for cpu, (busy0, _, total0) in zip((LOAD_CPU, SERVER_CPU), before, strict=True):
        busy1, _, total1 = bench.cpu_times(cpu)
        out.append(round(100 * (busy1 - busy0) / ((total1 - total0) or 1.0), 1))
    return out


def summarize_window(result: dict[str, Any]) -> str:
    classes: Counter[str] = Counter()
    for key, n in result["outcomes"].items():
        classes[key.split("|")[2]] += n
    rps = result["requests"] / (result["duration_us"] / 1e6)
    lat = result["latency_us"]
    other = ", ".join(f"{k} {v}" for k, v in sorted(classes.items()) if k != "ok")
    return (f"{rps:7,.0f} req/s  p50 {lat['p50'] / 1000:5.1f} ms  p99 {lat['p99'] / 1000:6.1f} ms  "
            f"cores {result['cores_busy_pct']}  {other}")


def ledger_counts(directory: Path) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for f in directory.glob("ledger-*.txt"):
        counts.update(line for line in f.read_text().splitlines() if line)
    return dict(counts)


def tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-4000:]
    except OSError:
        return ""


# ----------------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10, help="soak length (default 10)")
    ap.add_argument("--fraction", type=float, default=0.8, help="share of the measured peak to soak at (0.8)")
    ap.add_argument("--faults", action="store_true",
                    help="inject faults: Redis stop/restart and a replica SIGKILL (standalone Redis with an "
                         "fsync'd AOF), then a cluster primary SIGKILL (3 primaries + 3 replicas)")
    ap.add_argument("--peak-seconds", type=int, default=20)
    ap.add_argument("--warmup-seconds", type=int, default=10)
    ap.add_argument("--settle-seconds", type=int, default=10,
                    help="seconds at the soak's rate after the peak, not recorded (10)")
    ap.add_argument("--window", type=int, default=10, help="seconds per measured window (10)")
    ap.add_argument("--connections", type=int, default=64, help="wrk connections (64)")
    ap.add_argument("--flows", type=float, default=10, help="elicitation flows per second (10)")
    ap.add_argument("--calls", type=float, default=20, help="session tools/calls per second (20)")
    ap.add_argument("--writes", type=float, default=10, help="idempotent writes per second (10)")
    ap.add_argument("--redis-down", type=float, default=10, help="seconds Redis stays down (10)")
    ap.add_argument("--out", type=Path, default=BENCH / "results" / "soak")
    args = ap.parse_args()

    bench.ensure_venv(Path(__file__).resolve())
    for tool in ("wrk", "taskset", "redis-server", "redis-cli", "haproxy"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found (Debian: apt-get install wrk redis-server haproxy util-linux)")
    snap = bench.snapshot_source()
    root = Path(tempfile.mkdtemp(prefix="soak-"))
    started = time.monotonic()
    results = []
    try:
        plan = [("faults", "redis"), ("cluster", "cluster")] if args.faults else [("soak", "redis")]
        for name, kind in plan:
            results.append(scenario(name, kind, args, root))
        redis_version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()[2]
        info = bench.machine_info(redis_version)
    finally:
        shutil.rmtree(root, ignore_errors=True)
        if bench.SNAPSHOT is not None:
            shutil.rmtree(bench.SNAPSHOT, ignore_errors=True)
    haproxy = subprocess.run(["haproxy", "-v"], capture_output=True, text=True).stdout.split("\n")[0]
    info.update(commit=snap["commit"] + (" + uncommitted changes in src/" if snap["src_modified"] == "yes" else ""),
                src_sha256=snap["src_sha256"], haproxy=haproxy, elapsed_s=round(time.monotonic() - started),
                minutes=args.minutes, faults=args.faults)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "faults" if args.faults else "soak"
    data = {"machine": info, "scenarios": results}
    # Every reply's record: a few MB of JSON for ten minutes, so compressed.
    (args.out / f"{stem}.json.gz").write_bytes(gzip.compress(json.dumps(data).encode()))
    from soak_report import render  # bench/soak_report.py
    print()
    print(render(data, args.out, stem))


if __name__ == "__main__":
    main()
