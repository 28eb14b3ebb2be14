"""The Worker in Pyodide (tests/workers/serve.mjs): edgemcp's own bridge vs the workers
SDK's stock ``asgi`` bridge, same app (examples/conformance_server.py), same stores as
wrangler.toml says (KV for sessions, the harness's Durable Object fake for the exact kinds).
Sequential requests over loopback, every reply checked; prints median and p90 latency per
workload. bench/run.py runs it too (its Workers section, see bench/README.md).

    .venv/bin/python bench/workers_bridge.py [--requests 200] [--json out.json]

Needs the project's venv (the harness imports tests/conftest.py) and the Workers harness
(scripts/setup: tests/workers/node_modules and python_modules).
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.workers_harness import HARNESS, READY, Worker

ACCEPT = "application/json, text/event-stream"
META = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}}
SIMPLE_TEXT = "This is a simple text response for testing."
LOGGED_TEXT = "Tool with logging executed successfully"
VARIANTS = {
    "edgemcp bridge": {},
    "stock asgi bridge": {"entry": "asgi_bridge_worker",
                          "extra_modules": (HARNESS / "asgi_bridge_worker.py",)},
}


def timed(client: httpx.Client, url: str, headers: dict[str, str], body: dict[str, object],
          expect: str) -> float:
    """One request's latency in ms; its reply must be a 200 carrying ``expect`` and no error."""
    started = time.perf_counter()
    response = client.post(url, headers=headers, json=body)
    elapsed = (time.perf_counter() - started) * 1000
    text = response.text
    if response.status_code != 200 or expect not in text or '"error":{' in text or '"isError":true' in text:
        raise RuntimeError(f"unexpected reply {response.status_code}: {text[:300]}")
    return elapsed


def initialize(client: httpx.Client, url: str) -> str:
    reply = client.post(url, headers={"accept": ACCEPT}, json={
        "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "b", "version": "1"}}})
    if reply.status_code != 200 or "mcp-session-id" not in reply.headers:
        raise RuntimeError(f"initialize failed {reply.status_code}: {reply.text[:300]}")
    return reply.headers["mcp-session-id"]


def workloads(client: httpx.Client, url: str, count: int) -> dict[str, list[float]]:
    modern = {"accept": ACCEPT, "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call",
              "mcp-name": "test_simple_text"}
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "test_simple_text", "arguments": {}, "_meta": META}}
    session = {"accept": ACCEPT, "mcp-session-id": initialize(client, url),
               "mcp-protocol-version": "2025-11-25"}
    handshake_call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                      "params": {"name": "test_simple_text", "arguments": {}}}
    logging_call = {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                    "params": {"name": "test_tool_with_logging", "arguments": {}}}
    results: dict[str, list[float]] = {"tools/call 2026-07-28": [], "tools/call 2025-11-25 (KV session)": [],
                                       "tools/call streaming 3 logs (SSE)": []}
    for _ in range(count):
        results["tools/call 2026-07-28"].append(timed(client, url, modern, call, SIMPLE_TEXT))
        results["tools/call 2025-11-25 (KV session)"].append(
            timed(client, url, session, handshake_call, SIMPLE_TEXT))
    for _ in range(max(5, count // 20)):
        results["tools/call streaming 3 logs (SSE)"].append(
            timed(client, url, session, logging_call, LOGGED_TEXT))
    return results


def measure(count: int) -> dict[str, object]:
    """{"variants": {bridge: {workload: {median_ms, p90_ms, n}}}, "pyodide": ..., "python": ...}."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    info: dict[str, object] = {}
    for name, options in VARIANTS.items():
        worker = Worker(durable_object=True, **options)  # type: ignore[arg-type]
        info = worker.info
        try:
            with httpx.Client(timeout=30) as client:
                for _ in range(20):  # warm up: the first requests import and build lazily
                    initialize(client, worker.url)
                out[name] = {}
                for workload, samples in workloads(client, worker.url, count).items():
                    samples.sort()
                    out[name][workload] = {"median_ms": statistics.median(samples),
                                           "p90_ms": samples[max(0, int(len(samples) * 0.9) - 1)],
                                           "n": len(samples)}
        finally:
            worker.stop()
    return {"variants": out, "requests": count, "pyodide": info.get("pyodide"), "python": info.get("python")}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if not READY:
        raise SystemExit("the Workers harness is not installed (scripts/setup)")
    result = measure(args.requests)
    for name, figures in result["variants"].items():  # type: ignore[attr-defined]
        for workload, f in figures.items():
            print(f"{name:18} {workload:36} median {f['median_ms']:6.2f} ms  p90 {f['p90_ms']:6.2f} ms  n={f['n']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
