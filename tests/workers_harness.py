"""Starts tests/workers/serve.mjs: the Worker module (workers/entry.py) in real Pyodide
under Node 24, with Miniflare's KV simulator, served on 127.0.0.1."""

import json
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import httpx

from .conftest import ROOT, TEST_SECRET

HARNESS = ROOT / "tests" / "workers"
NODE = HARNESS / "node_modules" / ".bin" / "node"
PYTHON_MODULES = HARNESS / "python_modules"
READY = NODE.exists() and (PYTHON_MODULES / "workers").is_dir()


def wrangler_vars() -> dict[str, str]:
    """The [vars] of the top-level wrangler.toml: the harness serves what a deploy would."""
    config = tomllib.loads((ROOT / "wrangler.toml").read_text())
    return {k: str(v) for k, v in config.get("vars", {}).items()}


class Worker:
    """One harness process: ``isolates`` Pyodide instances sharing one KV namespace."""

    def __init__(self, *, isolates: int = 1, vars: dict[str, str] | None = None,
                 secret: str | None = TEST_SECRET, durable_object: bool = False,
                 entry: str = "entry", extra_modules: tuple[Path, ...] = ()) -> None:
        config: dict[str, Any] = {
            "root": str(ROOT), "pythonModules": str(PYTHON_MODULES), "isolates": isolates,
            "vars": {**wrangler_vars(), **(vars or {})},
            "secrets": {"EDGEMCP_SECRET": secret} if secret else {},
            "doBinding": "EDGEMCP_DO" if durable_object else None,
            "entry": entry, "extraModules": [str(p) for p in extra_modules],
        }
        self.process = subprocess.Popen(
            [str(NODE), str(HARNESS / "serve.mjs"), json.dumps(config)], cwd=HARNESS,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the Workers harness did not start:\n{self.stop()}")
        self.info: dict[str, Any] = json.loads(line)
        self.urls: list[str] = self.info["urls"]
        self.url = self.urls[0]

    def kv_keys(self) -> dict[str, float | None]:
        """What the shared KV namespace holds: key name -> expiration (epoch seconds)."""
        listed = httpx.get(self.url.removesuffix("/mcp") + "/__harness/kv", timeout=10).json()
        return {item["name"]: item.get("expiration") for item in listed}

    def wait_until(self) -> dict[str, int]:
        """Promises the Worker handed to ctx.waitUntil so far, and how many have settled."""
        counts: dict[str, int] = httpx.get(self.url.removesuffix("/mcp") + "/__harness/wait-until", timeout=10).json()
        return counts

    def stop(self) -> str:
        self.process.terminate()
        try:
            _, err = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
        return err or ""
