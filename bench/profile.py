#!/usr/bin/env python3
"""Profile the edgemcp server under load, to find the hot path.

    python bench/profile.py                        # cProfile, tools/call 2026-07-28, 5 s of wrk at c=16
    python bench/profile.py --workload session     # 2025-11-25 tools/call with a session
    python bench/profile.py --workload session --redis
    python bench/profile.py --workload handshake   # initialize + initialized + tools/list
    python bench/profile.py --py-spy               # sampling profile instead (py-spy, collapsed stacks)

The server is the benchmark's edgemcp app (bench/servers/edgemcp_app.py) under uvicorn with
uvloop + httptools, pinned to CPU 1, run in-process under cProfile; wrk (pinned to CPU 0) sends
the same verified requests as bench/run.py. When the load ends the server is stopped and the top
functions are printed by cumulative and by own time; the raw stats go to
bench/results/profile-<workload>.pstats (open with `python -m pstats` or snakeviz).

cProfile adds a fixed cost to every Python call, so functions that make many small calls look
heavier than they are; py-spy samples without that bias (needs ptrace permission).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
# This file is named like the standard library's `profile`, which cProfile imports: load the
# real one first, with bench/ (script directory and PYTHONPATH) out of the way.
_saved_path = list(sys.path)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
import cProfile  # noqa: E402
import pstats  # noqa: E402

sys.path[:] = [str(BENCH), *_saved_path]

import run as R  # noqa: E402  (bench/run.py: servers, specs, wrk)


def serve(module: str, port: int, out: Path) -> None:
    """Child process: uvicorn in-process under cProfile, stats written on shutdown."""
    import uvicorn
    config = uvicorn.Config(f"servers.{module}:asgi", host="127.0.0.1", port=port, loop="uvloop",
                            http="httptools", access_log=False, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        server.run()
    except KeyboardInterrupt:   # the SIGINT that ends the run (re-raised by asyncio.Runner)
        pass
    finally:
        profiler.disable()
        profiler.dump_stats(str(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workload", default="call", choices=["call", "session", "handshake", "discover", "cached"])
    ap.add_argument("--redis", action="store_true", help="EDGEMCP_STORE on a local redis-server")
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--py-spy", action="store_true", help="sample with py-spy instead of cProfile")
    ap.add_argument("--serve", nargs=3, metavar=("MODULE", "PORT", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]), Path(args.serve[2]))
        return
    R.ensure_venv(Path(__file__).resolve())

    workload = next(w for w in R.WORKLOADS if w.key == args.workload)
    module = "edgemcp_cached" if args.workload == "cached" else "edgemcp_app"
    key = ("edgemcp-cached" if args.workload == "cached" else "edgemcp") + ("-redis" if args.redis else "")
    out_dir = BENCH / "results"
    out_dir.mkdir(exist_ok=True)
    suffix = args.workload + ("-redis" if args.redis else "")
    stats_path = out_dir / f"profile-{suffix}.pstats"
    redis_srv = R.Redis(0) if args.redis else None
    env = R.child_env({"EDGEMCP_STORE": redis_srv.url} if redis_srv else {})
    port = R.free_port()
    server_cmd = [str(R.VENV_PY), "-m", "uvicorn", f"servers.{module}:asgi", "--host", "127.0.0.1",
                  "--port", str(port), "--loop", "uvloop", "--http", "httptools", "--no-access-log",
                  "--log-level", "warning"]
    collapsed = out_dir / f"profile-{suffix}.collapsed.txt"
    if args.py_spy:
        cmd = ["taskset", "-c", "1", *server_cmd]
    else:
        cmd = ["taskset", "-c", "1", str(R.VENV_PY), str(Path(__file__).resolve()), "--serve", module, str(port),
               str(stats_path)]
    proc = subprocess.Popen(cmd, cwd=BENCH, env=env, start_new_session=True)
    spy = None

    class Handle:   # what run.py's helpers need from a server
        pass
    srv = Handle()
    srv.url = f"http://127.0.0.1:{port}/mcp"
    srv.d = R.BY_KEY[key]
    srv.proc = proc
    srv.alive = lambda: proc.poll() is None  # type: ignore[attr-defined]
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                R.socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("server did not start") from None
                time.sleep(0.05)
        sessions = R.open_sessions(srv, 16) if args.workload == "session" else None  # type: ignore[arg-type]
        if args.workload == "cached":   # prime the cache: the first call is a miss
            R.http_post(srv.url, R.step_modern_call("cached_echo"))
        spec = R.spec_for(workload, srv, sessions)  # type: ignore[arg-type]
        R.verify(srv, spec)  # type: ignore[arg-type]
        threads = args.concurrency if workload.chain else 1
        if args.py_spy:   # attach for the load only; py-spy on CPU 0 with wrk, not on the server's CPU
            spy = subprocess.Popen(["taskset", "-c", "0", str(R.VENV / "bin" / "py-spy"), "record", "--pid",
                                    str(proc.pid), "--duration", str(args.seconds), "--rate", "250",
                                    "--format", "raw", "--output", str(collapsed)])
            time.sleep(0.5)
        r = R.wrk(srv.url, spec, args.concurrency, threads, args.seconds, 0)
        seconds = r["duration_us"] / 1e6
        print(f"[profile] {args.workload}{' (Redis)' if args.redis else ''}: {r['requests'] / seconds:,.0f} req/s "
              f"under the profiler, {r['failures']} failed checks, c={args.concurrency}, {args.seconds} s")
        if spy is not None:
            spy.wait(60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)   # uvicorn shuts down cleanly; py-spy writes its SVG
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if redis_srv:
            redis_srv.stop()

    if args.py_spy:
        print_collapsed(collapsed, args.top)
        return
    stats = pstats.Stats(str(stats_path))
    total = stats.total_tt
    print(f"\n[profile] raw stats: {stats_path} ({total:.2f} s of profiled time)")
    for order, title in (("cumulative", "cumulative time"), ("tottime", "own time")):
        print(f"\n[profile] top {args.top} by {title} (coroutines count once per resume)")
        print(f"{'cum s':>7} {'cum %':>6} {'own s':>7} {'calls':>9}  function")
        stats.sort_stats(order)
        for func in stats.fcn_list[:args.top]:  # type: ignore[attr-defined]
            _cc, nc, tt, ct, _callers = stats.stats[func]  # type: ignore[attr-defined]
            print(f"{ct:7.3f} {100 * ct / total:5.1f}% {tt:7.3f} {nc:9d}  {_where(func)}")


def print_collapsed(path: Path, top: int) -> None:
    """Top functions from py-spy's collapsed stacks: share of samples on the stack and on top."""
    total = 0
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = [_short_frame(f) for f in stack.split(";")]
        for f in set(frames):
            inclusive[f] = inclusive.get(f, 0) + n
        own[frames[-1]] = own.get(frames[-1], 0) + n
    print(f"\n[profile] py-spy: {total} samples; collapsed stacks in {path} (open in https://speedscope.app)")
    # Frames in (nearly) every sample are the process's entry points (runpy, click, uvicorn.main).
    inclusive = {f: n for f, n in inclusive.items() if n < 0.98 * total}
    for title, table in (("on the stack (inclusive; entry points left out)", inclusive), ("on top (own)", own)):
        print(f"\n[profile] top {top} functions by samples {title}")
        for f, n in sorted(table.items(), key=lambda kv: -kv[1])[:top]:
            print(f"{100 * n / total:6.1f}%  {f}")


def _short_frame(frame: str) -> str:
    # "handle (edgemcp/core.py:110)" -> "edgemcp/core.py(handle)"; lines dropped so a function is one row
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("/site-packages/", "/src/", "/bench/"):
        if marker in where:
            where = where.split(marker, 1)[1]
            break
    return f"{where}({name})"


def _where(func: tuple[str, int, str]) -> str:
    """A short, unambiguous location: package-relative for libraries and edgemcp, else the file name."""
    path, line, name = func
    for marker in ("/site-packages/", "/src/", "/bench/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    else:
        if path.startswith("/"):
            path = "stdlib/" + Path(path).name
    return f"{path}:{line}({name})" if line else name


if __name__ == "__main__":
    main()
