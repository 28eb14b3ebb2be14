"""The Worker in Pyodide (tests/workers/serve.mjs): edgemcp's own bridge vs the workers
SDK's stock ``asgi`` bridge, same app, same KV. Sequential requests over loopback; prints
median and p90 latency per workload.

    .venv/bin/python bench/workers_bridge.py [--requests 200]
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.workers_harness import HARNESS, Worker

ACCEPT = "application/json, text/event-stream"
META = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}}


def timed(client: httpx.Client, url: str, headers: dict[str, str], body: dict[str, object]) -> float:
    started = time.perf_counter()
    response = client.post(url, headers=headers, json=body)
    assert response.status_code == 200, response.text
    return (time.perf_counter() - started) * 1000


def workloads(client: httpx.Client, url: str, count: int) -> dict[str, list[float]]:
    modern = {"accept": ACCEPT, "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call",
              "mcp-name": "test_simple_text"}
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "test_simple_text", "arguments": {}, "_meta": META}}
    init = client.post(url, headers={"accept": ACCEPT}, json={
        "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "b", "version": "1"}}})
    session = {"accept": ACCEPT, "mcp-session-id": init.headers["mcp-session-id"],
               "mcp-protocol-version": "2025-11-25"}
    handshake_call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                      "params": {"name": "test_simple_text", "arguments": {}}}
    logging_call = {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                    "params": {"name": "test_tool_with_logging", "arguments": {}}}
    results: dict[str, list[float]] = {"tools/call 2026-07-28": [], "tools/call 2025-11-25 (KV session)": [],
                                       "tools/call streaming 3 logs (SSE)": []}
    for _ in range(count):
        results["tools/call 2026-07-28"].append(timed(client, url, modern, call))
        results["tools/call 2025-11-25 (KV session)"].append(timed(client, url, session, handshake_call))
    for _ in range(max(5, count // 20)):
        results["tools/call streaming 3 logs (SSE)"].append(timed(client, url, session, logging_call))
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    count = parser.parse_args().requests
    variants = {
        "edgemcp bridge": {},
        "stock asgi bridge": {"entry": "asgi_bridge_worker",
                              "extra_modules": (HARNESS / "asgi_bridge_worker.py",)},
    }
    for name, options in variants.items():
        worker = Worker(vars={"EDGEMCP_EXACT_STORE": ""}, **options)  # type: ignore[arg-type]
        try:
            with httpx.Client(timeout=30) as client:
                for _ in range(20):  # warm up
                    client.post(worker.url, headers={"accept": ACCEPT}, json={"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "w", "version": "1"}}})
                for workload, samples in workloads(client, worker.url, count).items():
                    samples.sort()
                    p90 = samples[int(len(samples) * 0.9) - 1]
                    print(f"{name:18} {workload:36} median {statistics.median(samples):6.2f} ms  p90 {p90:6.2f} ms  n={len(samples)}")
        finally:
            worker.stop()


if __name__ == "__main__":
    main()
