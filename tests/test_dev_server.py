"""``edgemcp dev`` in a project of its own, as a user runs it: its state in ``.edgemcp/``
(a SQLite store and a 0600 secret) keeps a handshake session through a reload and a
restart, the other commands act on the same store by default, the console shows one access
line per request with the MCP method and tool, and ``--audit`` sends the audit log to stdout,
stderr or nowhere."""

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from .conftest import ROOT, free_port

APP = '''from edgemcp import EdgeMCP

app = EdgeMCP("devproject")


@app.tool(cache_ttl=60, cache_scope="public", placement="edge")
def forecast(city: str) -> str:
    return f"{city}: sunny"
'''
ACCEPT = "application/json, text/event-stream"
HANDSHAKE = "2025-11-25"


def environment() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    for name in ("EDGEMCP_STORE", "EDGEMCP_SECRET"):
        env.pop(name, None)
    return env


class Dev:
    """``edgemcp dev devapp:app`` in ``project``, its stdout and stderr in files."""

    def __init__(self, project: Path, *args: str) -> None:
        self.project = project
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.stdout_path, self.stderr_path = project / "dev.out", project / "dev.err"
        with self.stdout_path.open("w") as out, self.stderr_path.open("w") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "edgemcp", "dev", "devapp:app", "--port", str(self.port), *args],
                cwd=project, env=environment(), stdout=out, stderr=err)
        self.wait_for("Application startup complete.", 1)

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text()

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def wait_for(self, line: str, count: int) -> None:
        deadline = time.monotonic() + 30
        while self.stderr.count(line) < count:
            assert self.process.poll() is None, f"edgemcp dev exited:\n{self.stdout}\n{self.stderr}"
            assert time.monotonic() < deadline, f"no {line!r} x{count}:\n{self.stderr}"
            time.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


def post(url: str, message: dict[str, object], session: str | None = None) -> httpx.Response:
    headers = {"accept": ACCEPT, "content-type": "application/json"}
    if session is not None:
        headers |= {"mcp-session-id": session, "mcp-protocol-version": HANDSHAKE}
    return httpx.post(url, headers=headers, json=message, timeout=20)


def open_session(url: str) -> str:
    response = post(url, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": HANDSHAKE, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
    assert response.status_code == 200
    session = response.headers["mcp-session-id"]
    assert post(url, {"jsonrpc": "2.0", "method": "notifications/initialized"}, session).status_code == 202
    return session


def tools_list(url: str, session: str) -> httpx.Response:
    return post(url, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, session)


def forecast(url: str, session: str) -> httpx.Response:
    return post(url, {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                      "params": {"name": "forecast", "arguments": {"city": "Oslo"}}}, session)


def audit_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith('{"time"')]


def test_a_session_survives_a_reload_and_a_restart(tmp_path: Path) -> None:
    module = tmp_path / "devapp.py"
    module.write_text(APP)
    dev = Dev(tmp_path)  # reload on, audit on stdout (the defaults)
    try:
        session = open_session(dev.url)
        assert forecast(dev.url, session).json()["result"]["content"][0]["text"] == "Oslo: sunny"
        module.write_text(APP + "\n# touched\n")
        dev.wait_for("Application startup complete.", 2)  # the reloaded worker
        assert tools_list(dev.url, session).status_code == 200
    finally:
        dev.stop()
    state = tmp_path / ".edgemcp"
    assert f"store sqlite:///{state.resolve() / 'dev.db'}" in dev.stdout
    assert stat.S_IMODE((state / "dev-secret").stat().st_mode) == 0o600
    assert (state / ".gitignore").read_text().endswith("*\n")
    assert [r["tool"] for r in audit_lines(dev.stdout)] == ["forecast"]
    assert "POST /mcp initialize 200" in dev.stderr
    assert "POST /mcp tools/call forecast 200" in dev.stderr

    again = Dev(tmp_path, "--no-reload", "--audit", "stderr")  # a restart: a new process
    try:
        assert tools_list(again.url, session).status_code == 200  # the same session
        forecast(again.url, session)
    finally:
        again.stop()
    assert audit_lines(again.stdout) == []
    assert [r["tool"] for r in audit_lines(again.stderr)] == ["forecast"]


def test_the_cli_acts_on_the_dev_servers_store(tmp_path: Path) -> None:
    (tmp_path / "devapp.py").write_text(APP)
    dev = Dev(tmp_path, "--no-reload", "--audit", "off")
    try:
        session = open_session(dev.url)
        done = subprocess.run([sys.executable, "-m", "edgemcp", "tools", "disable", "forecast", "--app",
                               "devapp:app", "--reason", "try it"], cwd=tmp_path, env=environment(),
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert f"in sqlite:///{(tmp_path / '.edgemcp' / 'dev.db').resolve()}" in done.stdout
        for _ in range(100):  # the server reads its switches at most once a second
            refused = forecast(dev.url, session)
            if "error" in refused.json():
                break
            time.sleep(0.05)
        assert refused.json()["error"]["message"] == "Tool 'forecast' is disabled: try it"
    finally:
        dev.stop()
    assert audit_lines(dev.stdout + dev.stderr) == []  # --audit off
    assert "POST /mcp tools/call forecast 403" in dev.stderr


async def test_the_console_line_shows_what_the_client_meant_and_nothing_more() -> None:
    """Routing headers decoded (``=?base64?…?=``), the handshake-era body read for its method,
    and a client's control characters escaped, never written to the terminal as they came."""
    import io

    from edgemcp.cli.console import AccessLog

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "a\x1b[31mb"}})

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body.encode()}

    async def send(message: Any) -> None:
        pass

    out = io.StringIO()
    console = AccessLog(app, out)
    modern = [(b"mcp-method", b"tools/call"), (b"mcp-name", b"=?base64?Y2Fmw6k=?=")]
    await console({"type": "http", "method": "POST", "path": "/mcp", "headers": modern}, receive, send)
    await console({"type": "http", "method": "POST", "path": "/mcp", "headers": []}, receive, send)
    lines = [line.rsplit(" ", 2)[0] for line in out.getvalue().splitlines()]
    assert lines == ["POST /mcp tools/call café 200", "POST /mcp tools/call a\\x1b[31mb 200"]
