"""The operator CLI, run as an operator runs it (a subprocess), so a traceback would show:
a change on memory:// is refused, an unknown tool or app is exit 2, a store that is down is
one line and exit 2 (never a list of "enabled" tools), the server-side kill switch holds
through an outage and says so, ``--version``, ``edgemcp dev`` refusing a bad module or a
taken port in one line, and ``edgemcp call`` / ``tools list --url`` against real servers."""

import json
import logging
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from edgemcp import EdgeMCP
from edgemcp.cli.common import human_time, shown
from edgemcp.guards.killswitch import KillSwitches
from edgemcp.store import Keyspace, open_store

from .conformance_suite import NODE
from .conftest import ROOT, RedisServer, Server, free_port

MODERN = "2026-07-28"
WEATHER = "examples.weather:app"
FORECAST = json.dumps({"city": "Oslo", "day": "2026-12-05"})


def edgemcp(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})}
    for name in ("EDGEMCP_STORE", "EDGEMCP_SECRET"):
        if env is None or name not in env:
            environment.pop(name, None)
    return subprocess.run([sys.executable, "-m", "edgemcp", *args], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=120)


def assert_one_line_error(done: subprocess.CompletedProcess[str], says: str, code: int = 2) -> None:
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert says in lines[0], lines[0]


def test_version() -> None:
    from edgemcp.version import __version__

    done = edgemcp("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"edgemcp {__version__}"


@pytest.mark.parametrize("args", [
    ["tools", "disable", "forecast", "--app", WEATHER],
    ["tools", "enable", "forecast", "--app", WEATHER],
    ["tools", "disable", "--placement", "edge", "--app", "weather"],
    ["tools", "list", "--app", WEATHER],
    ["tokens", "add", "t0ken", "--agent", "a", "--app", "weather"],
    ["tokens", "revoke", "t0ken", "--app", "weather"],
])
def test_memory_store_is_refused(args: list[str]) -> None:
    done = edgemcp(*args, "--store", "memory://")
    assert_one_line_error(done, "memory:// is this command's own throwaway store")
    assert done.stdout == ""


def test_without_a_store_the_cli_says_which_it_looked_for(tmp_path: Path) -> None:
    assert_one_line_error(edgemcp("tools", "list", "--app", "weather", cwd=tmp_path),
                          "no store: give --store URL or set EDGEMCP_STORE")


@pytest.mark.parametrize(("args", "says"), [
    (["tools", "disable", "nope", "--app", WEATHER], "examples.weather:app has no tool 'nope' (its tools:"),
    (["tools", "disable", "forecast", "--app", "examples.nope:app"], "cannot import examples.nope"),
    (["tools", "disable", "forecast", "--app", "examples.weather:nope"], "has no attribute 'nope'"),
    (["tools", "list", "--app", "examples.weather:Forecast"], "is a ModelMetaclass, not an EdgeMCP app"),
    (["tokens", "add", "t0ken", "--agent", "a", "--app", "examples.nope:app"], "cannot import examples.nope"),
    (["tools", "disable", "forecast", "--placement", "edge", "--app", WEATHER], "not both"),
])
def test_unknown_tool_or_app_is_exit_2(args: list[str], says: str, tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'state.db'}"
    assert_one_line_error(edgemcp(*args, "--store", store), says)


def test_changes_name_their_store_and_times_are_iso(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'state.db'}"
    disabled = edgemcp("tools", "disable", "forecast", "--app", WEATHER, "--store", store, "--reason", "incident 42")
    assert disabled.returncode == 0, disabled.stderr
    assert disabled.stdout.strip() == (f"tool:forecast: disabled in {store} for app 'weather' "
                                       f"(examples.weather:app): incident 42")
    listing = edgemcp("tools", "list", "--app", WEATHER, "--store", store)
    assert listing.returncode == 0
    lines = listing.stdout.splitlines()
    assert re.fullmatch(r"forecast\tedge\tdisabled \(incident 42\) since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", lines[0])
    assert lines[1] == "book_umbrella\tcore\tenabled"
    assert store in listing.stderr
    # A bare name is the store namespace: it works, and says that no tool check was possible.
    bare = edgemcp("tools", "enable", "forecast", "--app", "weather", "--store", store)
    assert bare.returncode == 0
    assert bare.stdout.strip() == f"tool:forecast: enabled in {store} for app 'weather'"
    assert "is not checked against the app" in bare.stderr
    again = edgemcp("tools", "enable", "forecast", "--app", WEATHER, "--store", store)
    assert again.stdout.strip().endswith("(it was not disabled)")
    added = edgemcp("tokens", "add", "s3cret-token", "--agent", "bot", "--app", "weather", "--store", store)
    assert added.stdout.strip() == f"token added for agent bot in {store} for app 'weather'"
    assert "s3cret-token" not in added.stdout + added.stderr


def test_store_urls_are_shown_without_their_password() -> None:
    assert shown("redis://:hunter2@10.0.0.5:6379/0") == "redis://10.0.0.5:6379/0"
    assert shown("rediss://ops:hunter2@[::1]:6380/1") == "rediss://ops@[::1]:6380/1"
    assert shown("sqlite:////var/lib/app.db") == "sqlite:////var/lib/app.db"
    assert human_time(1796378400) == "2026-12-04T10:00:00Z"
    assert human_time(None) == "?"


def test_a_store_that_is_down_is_one_line_and_exit_2(fragile_redis: RedisServer) -> None:
    assert edgemcp("tools", "disable", "forecast", "--app", WEATHER, "--store", fragile_redis.url).returncode == 0
    fragile_redis.stop()
    listing = edgemcp("tools", "list", "--app", WEATHER, "--store", fragile_redis.url)
    assert_one_line_error(listing, f"the store at {fragile_redis.url} is unavailable")
    assert "enabled" not in listing.stdout and listing.stdout == ""
    assert_one_line_error(edgemcp("tools", "enable", "forecast", "--app", WEATHER, "--store", fragile_redis.url),
                          "is unavailable")
    assert_one_line_error(edgemcp("tokens", "add", "t", "--agent", "a", "--app", "weather",
                                  "--store", fragile_redis.url), "is unavailable")


# ----- the kill switch inside the server, through a store outage --------------------------------


async def call(client: httpx.AsyncClient, name: str) -> httpx.Response:
    return await client.post("/mcp", headers={
        "accept": "application/json, text/event-stream", "mcp-protocol-version": MODERN,
        "mcp-method": "tools/call", "mcp-name": name,
    }, json={"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": {}, "_meta": {
        "io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}}})


def outage_logs(caplog: pytest.LogCaptureFixture, says: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if says in r.getMessage()]


async def test_the_kill_switch_holds_through_a_store_outage_and_logs_it(
        fragile_redis: RedisServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="edgemcp")
    app = EdgeMCP("outage", secret="s", store=fragile_redis.url, audit=False, kill_switch_refresh=0)

    @app.tool
    def risky() -> str:
        return "ran"

    @app.tool
    def safe() -> str:
        return "ran"

    transport = httpx.ASGITransport(app=app.asgi())
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        await app.runtime.pipeline.kill_switches.set("tool:risky", "incident 7")
        assert (await call(client, "risky")).status_code == 403
        fragile_redis.stop()
        for _ in range(3):  # every request reads (refresh 0); the outage is logged once
            refused = await call(client, "risky")
            assert refused.status_code == 403 and "incident 7" in refused.json()["error"]["message"]
        assert (await call(client, "safe")).status_code == 200
        began = outage_logs(caplog, "kill switches: store unavailable")
        assert len(began) == 1 and "keeping the last switches read (1 set: tool:risky)" in began[0]
        fragile_redis.start()  # empty: this Redis keeps nothing across a restart
        assert (await call(client, "risky")).status_code == 200  # what the store says again
        await call(client, "risky")
        assert outage_logs(caplog, "kill switches: the store answers again") == [
            "kill switches: the store answers again (0 switch(es) set)"]


async def test_a_cold_start_with_the_store_down_says_it_knows_no_switches(
        caplog: pytest.LogCaptureFixture) -> None:
    store = open_store(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    switches = KillSwitches(Keyspace(store, "cold"), refresh=0)
    try:
        assert await switches.current() == {}
        assert await switches.current() == {}
    finally:
        await store.aclose()
    said = outage_logs(caplog, "store unavailable at start")
    assert len(said) == 1 and "no tool is switched off until the store answers" in said[0]


# ----- edgemcp dev: refusals before anything starts ---------------------------------------------


def test_dev_with_a_module_that_does_not_exist() -> None:
    done = edgemcp("dev", "examples.nope:app")
    assert_one_line_error(done, "cannot import examples.nope (from examples.nope:app): No module named")
    assert "MCP endpoint" not in done.stdout


def test_dev_on_a_port_in_use_says_so_before_any_url(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = edgemcp("dev", WEATHER, "--port", str(port), cwd=ROOT)
    assert_one_line_error(done, f"127.0.0.1:{port}: address already in use")
    assert "MCP endpoint" not in done.stdout


# ----- edgemcp call and tools list --url, against real servers ----------------------------------


@pytest.fixture(scope="module")
def weather() -> Iterator[Server]:
    server = Server(WEATHER)
    yield server
    server.stop()


def test_call_prints_the_text_and_exits_by_the_result(weather: Server) -> None:
    done = edgemcp("call", weather.url, "forecast", FORECAST)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["city"] == "Oslo"
    as_json = json.loads(edgemcp("call", weather.url, "forecast", FORECAST, "--json").stdout)
    assert as_json["structuredContent"]["city"] == "Oslo"
    assert as_json["_meta"]["dev.edgemcp/cache"] in ("hit", "miss")
    invalid = edgemcp("call", weather.url, "forecast", '{"city": "Oslo"}')  # no day: an isError result
    assert invalid.returncode == 1 and "day" in invalid.stdout
    unknown = edgemcp("call", weather.url, "nope")
    assert_one_line_error(unknown, "Unknown tool: nope (error -32602)", code=1)
    assert_one_line_error(edgemcp("call", weather.url, "forecast", "{oops"), "the arguments are not JSON")
    assert_one_line_error(edgemcp("call", weather.url, "forecast", "[1]"), "must be a JSON object")
    nobody = weather.url.replace(str(weather.port), str(free_port()))
    assert_one_line_error(edgemcp("call", nobody, "forecast", FORECAST), f"cannot reach {nobody}: ConnectError")
    assert_one_line_error(edgemcp("call", "ftp://x/mcp", "forecast"), "is not an http:// or https:// URL")


def test_tools_list_url_shows_placement_and_cache(weather: Server) -> None:
    done = edgemcp("tools", "list", "--url", weather.url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["forecast\tedge\tcache public 600s", "book_umbrella\tcore\tno cache"]
    assert_one_line_error(edgemcp("tools", "disable", "forecast", "--url", weather.url), "--url lists")


def test_call_with_credentials_and_a_switched_off_tool(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'guarded.db'}"
    server = Server("examples.guarded_server:mcp", {"EDGEMCP_STORE": store, "EDGEMCP_TOKENS": "agent-a:token-a"})
    try:
        anonymous = edgemcp("call", server.url, "echo", '{"text": "hi"}')
        assert_one_line_error(anonymous, "HTTP 401")
        assert "--header" in anonymous.stderr
        auth = ("--header", "Authorization: Bearer token-a")
        done = edgemcp("call", server.url, "echo", '{"text": "hi"}', *auth)
        assert (done.returncode, done.stdout) == (0, "hi\n")
        assert edgemcp("tools", "disable", "list_records", "--app", "examples.guarded_server:mcp",
                       "--store", store, "--reason", "abuse").returncode == 0
        for _ in range(50):  # the server reads its switches at most once a second
            off = edgemcp("call", server.url, "list_records", *auth)
            if off.returncode != 0:
                break
        assert_one_line_error(off, "Tool 'list_records' is disabled: abuse (error -31423)", code=1)
    finally:
        server.stop()


needs_node = pytest.mark.skipif(not NODE.exists(), reason="conformance tooling not installed: run scripts/setup")


@needs_node
def test_call_falls_back_to_the_handshake_era() -> None:
    """The official TypeScript SDK v1 server speaks only the handshake era."""
    process = subprocess.Popen([str(NODE.parent / "node"), "ts_handshake_server.mjs"], cwd=NODE.parents[2],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        url = json.loads(process.stdout.readline())["url"]
        done = edgemcp("call", url, "ts_echo", '{"text": "hi"}')
        assert (done.returncode, done.stdout) == (0, "ts says: hi\n"), done.stderr
        listing = edgemcp("tools", "list", "--url", url)
        assert listing.stdout.splitlines() == ["ts_echo\t-\tno cache", "ts_ask\t-\tno cache"]
    finally:
        process.terminate()
        process.wait(10)
