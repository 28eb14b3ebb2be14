"""Guards across replicas: two uvicorn replicas of examples/guarded_server.py on one real
Redis. A budget holds exactly under concurrent calls spread over both, and a kill switch
set through one replica's store takes effect on the other."""

import asyncio
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from .conftest import ROOT, RedisServer, Server

MODERN = "2026-07-28"


@pytest.fixture(scope="module")
def guarded(redis_server: RedisServer) -> Iterator[list[Server]]:
    subprocess.run(["redis-cli", "-p", str(redis_server.port), "flushdb"], check=True, capture_output=True)
    env = {"EDGEMCP_STORE": redis_server.url, "EDGEMCP_TOKENS": "agent-a:token-a,agent-b:token-b"}
    servers = [Server("examples.guarded_server:app", env) for _ in range(2)]
    yield servers
    for server in servers:
        server.stop()


def edgemcp_cli(*args: str) -> None:
    """The real command line, as an operator would run it."""
    subprocess.run([sys.executable, "-m", "edgemcp", *args], check=True, cwd=ROOT, capture_output=True)


async def call(client: httpx.AsyncClient, url: str, name: str, token: str, arguments: dict[str, str],
               **headers: str) -> httpx.Response:
    return await client.post(url, headers={
        "accept": "application/json, text/event-stream", "authorization": f"Bearer {token}",
        "mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": name, **headers,
    }, json={"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": name, "arguments": arguments, "_meta": {
            "io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}}})


async def test_exactly_the_budget_passes_across_two_replicas(guarded: list[Server]) -> None:
    async with httpx.AsyncClient(timeout=20) as client:
        responses = await asyncio.gather(*(
            call(client, guarded[i % 2].url, "echo", "token-a", {"text": str(i)}) for i in range(30)))
        statuses = [r.status_code for r in responses]
        assert statuses.count(200) == 5, statuses
        assert statuses.count(429) == 25
        limited = next(r for r in responses if r.status_code == 429)
        assert limited.json()["error"]["data"]["layer"] == "tool"
        # agent-b's budget is untouched by agent-a's calls
        assert (await call(client, guarded[1].url, "echo", "token-b", {"text": "b"})).status_code == 200


async def test_kill_switch_reaches_the_other_replica(guarded: list[Server], redis_server: RedisServer) -> None:
    async with httpx.AsyncClient(timeout=20) as client:
        assert (await call(client, guarded[1].url, "list_records", "token-a", {})).status_code == 200
        await asyncio.to_thread(edgemcp_cli, "tools", "disable", "--placement", "edge", "--app", "guarded",
                                "--store", redis_server.url, "--reason", "edge incident")
        for _ in range(40):  # the switch takes effect within the 1 s refresh
            refused = await call(client, guarded[1].url, "list_records", "token-a", {})
            if refused.status_code == 403:
                break
            await asyncio.sleep(0.1)
        assert refused.status_code == 403
        assert "edge incident" in refused.json()["error"]["message"]
        assert (await call(client, guarded[0].url, "list_records", "token-a", {})).status_code == 403
        await asyncio.to_thread(edgemcp_cli, "tools", "enable", "--placement", "edge", "--app", "guarded",
                                "--store", redis_server.url)
        await asyncio.sleep(1.2)
        assert (await call(client, guarded[0].url, "list_records", "token-a", {})).status_code == 200


async def test_idempotent_delete_across_replicas(guarded: list[Server]) -> None:
    async with httpx.AsyncClient(timeout=20) as client:
        key = {"idempotency-key": "delete-3"}
        first = await call(client, guarded[0].url, "delete_record", "token-a", {"record_id": "3"}, **key)
        second = await call(client, guarded[1].url, "delete_record", "token-a", {"record_id": "3"}, **key)
    text = first.json()["result"]["content"][0]["text"]
    assert text.startswith("deleted 3")
    # Replica 1 never saw record 3 deleted in its own memory, yet it replays, not re-runs.
    assert second.json()["result"]["content"][0]["text"] == text
    assert second.json()["result"]["_meta"]["dev.edgemcp/idempotency"] == "replayed"
