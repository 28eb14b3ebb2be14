#!/usr/bin/env python3
"""In-process cost per request of each ASGI app, without a server or sockets.

    bench/.venv/bin/python bench/micro.py            # tools/call 2026-07-28 and 2025-11-25
    bench/.venv/bin/python bench/micro.py -n 20000

A quick loop for hot-path work: it calls the ASGI app directly with the same request
bench/run.py sends and reports microseconds per request, interleaved and repeated, with the
ratio to bare Starlette. It is not the benchmark: server and kernel costs (about half of a
request under uvicorn) are absent here, so ratios are lower than the real ones. Use
bench/run.py for figures.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
os.environ.setdefault("EDGEMCP_SECRET", "bench-secret-0123456789abcdef")

import run as R  # noqa: E402


def _scope(step: dict[str, Any], session: str | None) -> dict[str, Any]:
    headers = [(b"host", b"127.0.0.1:8000")]
    headers += [(k.lower().encode(), v.encode()) for k, v in step["headers"].items()]
    if session:
        headers.append((b"mcp-session-id", session.encode()))
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
            "scheme": "http", "path": "/mcp", "raw_path": b"/mcp", "query_string": b"",
            "root_path": "", "headers": headers, "client": ("127.0.0.1", 5000),
            "server": ("127.0.0.1", 8000)}


async def _call(app: Any, scope: dict[str, Any], body: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], dict(sent[0]["headers"]), b"".join(m.get("body", b"") for m in sent[1:])


async def _time(app: Any, step: dict[str, Any], session: str | None, n: int) -> float:
    scope, body = _scope(step, session), step["body"].encode()
    status, _, out = await _call(app, scope, body)
    if status != 200 or not all(e in out.decode() for e in step["expect"]):
        raise SystemExit(f"bad reply {status}: {out[:300]!r}")
    gc.collect()
    start = time.perf_counter()
    for _ in range(n):
        await _call(app, dict(scope), body)
    return (time.perf_counter() - start) / n * 1e6


async def _session(app: Any) -> str:
    init = {"headers": R._headers(), "body": R._body({
        "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": R.HANDSHAKE, "capabilities": {}, "clientInfo": {"name": "m", "version": "1"}}})}
    status, headers, out = await _call(app, _scope(init, None), init["body"].encode())
    assert status == 200, out
    return headers.get(b"mcp-session-id", b"").decode()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--apps", default="bare_starlette,edgemcp_app",
                        help="modules under bench/servers; the first is the baseline")
    args = parser.parse_args()
    import importlib

    names = args.apps.split(",")
    apps = {name: importlib.import_module(f"servers.{name}").asgi for name in names}
    workloads = {"tools/call 2026-07-28": (R.step_modern_call(), False),
                 "tools/call 2025-11-25 session": (R.step_handshake_call(), True)}
    for label, (step, needs_session) in workloads.items():
        times: dict[str, list[float]] = {name: [] for name in apps}
        sessions = {name: (await _session(app)) if needs_session else None for name, app in apps.items()}
        for _ in range(args.repeat):
            for name, app in apps.items():
                times[name].append(await _time(app, step, sessions[name], args.n))
        base = min(times[names[0]])
        print(f"\n{label}", file=sys.stderr)
        for name, values in times.items():
            us = min(values)  # the least disturbed run: noise only adds
            print(f"  {name:20} {us:7.1f} µs/request  x{base / us:.2f} of {names[0]}'s rate", file=sys.stderr)
    print("\n(in-process only; see bench/run.py for real figures)", file=sys.stderr)


if __name__ == "__main__":
    try:
        import uvloop  # the loop uvicorn runs in the benchmark
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())
