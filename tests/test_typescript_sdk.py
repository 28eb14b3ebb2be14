"""End to end with the official TypeScript SDK v1 client (@modelcontextprotocol/sdk 1.32.2),
the client most deployed hosts embed, against a real uvicorn: handshake, session,
sampling and elicitation answered over the SSE stream, logging, resources, prompts,
completion and session termination (tests/conformance/ts_client.mjs)."""

import json
import subprocess
from pathlib import Path

import pytest

from .conftest import Server

HERE = Path(__file__).resolve().parent / "conformance"
NODE = HERE / "node_modules" / ".bin" / "node"

pytestmark = pytest.mark.skipif(not NODE.exists(), reason="node tooling not installed: run scripts/setup")


def test_typescript_client_end_to_end(conformance_server: Server) -> None:
    run = subprocess.run([str(NODE), str(HERE / "ts_client.mjs"), conformance_server.url],
                         capture_output=True, text=True, timeout=120, cwd=HERE)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout.strip().splitlines()[-1])

    assert seen["protocolVersion"] == "2025-11-25"
    assert seen["sessionId"]
    assert seen["server"] == {"name": "edgemcp-conformance", "version": "0.1.0"}
    assert "test_simple_text" in seen["tools"] and "test_sampling" in seen["tools"]
    assert seen["simple"]["content"] == [
        {"type": "text", "text": "This is a simple text response for testing."}]
    assert seen["sampling"]["content"][0]["text"] == "LLM response: Paris, from the TypeScript client"
    assert "ts@example.com" in seen["elicitation"]["content"][0]["text"]
    assert seen["logs"] == ["Tool execution started", "Tool processing data", "Tool execution completed"]
    assert json.loads(seen["resource"]["contents"][0]["text"]) == {
        "id": "7", "templateTest": True, "data": "Data for ID: 7"}
    assert seen["prompt"]["messages"][0]["content"]["text"] == "Prompt with arguments: arg1='a', arg2='b'"
    assert seen["completion"]["completion"]["values"] == ["paris", "park", "party"]
