"""``edgemcp dev module:app``: serve an app locally under uvicorn, with reload.

The dev server keeps its state beside the project, in ``.edgemcp/``: a SQLite store
(``dev.db``, unless ``EDGEMCP_STORE`` names another) and a secret (``dev-secret``, mode
0600, unless ``EDGEMCP_SECRET`` is set). So handshake sessions, kill switches and tokens
survive a reload and a restart, and the other ``edgemcp`` commands, run from the same
project, act on the store the dev server uses.
"""

import argparse
import errno
import os
import secrets
import socket
from pathlib import Path
from typing import Any

from .common import DEV_DIR, DEV_SECRET, UsageError, dev_store_url, load_target, project_root, shown
from .console import AUDIT_MODES, AccessLog, route_audit

TARGET_ENV = "EDGEMCP_DEV_TARGET"
AUDIT_ENV = "EDGEMCP_DEV_AUDIT"


def add_dev_command(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    dev = commands.add_parser("dev", help="run an app under uvicorn with reload")
    dev.add_argument("target", help="module:attribute, an EdgeMCP app or an ASGI app")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=8000)
    dev.add_argument("--no-reload", action="store_true")
    dev.add_argument("--audit", choices=AUDIT_MODES, default="stdout",
                     help="where the audit log goes (default stdout; off silences it)")


def run_dev(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError:
        raise UsageError("edgemcp dev needs uvicorn: pip install 'edgemcp[server]'") from None
    app = load_target(args.target)  # a typo fails here, in one line, before anything starts
    _check_port(args.host, args.port)  # before the URL is printed: no URL for a server that cannot start
    root = project_root()
    state = root / DEV_DIR
    notes: list[str] = []
    own_store = getattr(app, "_store", None) is not None
    if not os.environ.get("EDGEMCP_STORE") and not own_store:
        _make_state_dir(state)
        os.environ["EDGEMCP_STORE"] = dev_store_url(root)
        notes.append(f"store {os.environ['EDGEMCP_STORE']} (set EDGEMCP_STORE for another)")
    elif own_store:
        notes.append("store: the app's own")
    else:
        notes.append(f"store {shown(os.environ['EDGEMCP_STORE'])} (EDGEMCP_STORE)")
    if not os.environ.get("EDGEMCP_SECRET") and getattr(app, "_secret", None) is None:
        _make_state_dir(state)
        os.environ["EDGEMCP_SECRET"] = _dev_secret(state / DEV_SECRET)
        notes.append(f"secret from {DEV_DIR}/{DEV_SECRET}")
    os.environ[TARGET_ENV] = args.target
    os.environ[AUDIT_ENV] = args.audit
    print(f"edgemcp: {'; '.join(notes)}", flush=True)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"edgemcp: MCP endpoint at http://{host}:{args.port}/mcp  (Ctrl+C to stop)", flush=True)
    uvicorn.run("edgemcp.cli.dev:dev_app", factory=True, host=args.host, port=args.port,
                reload=not args.no_reload, log_level="info", access_log=False)
    return 0


def dev_app() -> Any:
    """The app uvicorn serves (in the reloading worker process too): the target's ASGI app
    behind the access-line console, with the audit log where ``--audit`` said."""
    route_audit(os.environ.get(AUDIT_ENV, "stdout"))
    target = load_target(os.environ[TARGET_ENV])
    asgi = target.asgi() if hasattr(target, "asgi") else target
    return AccessLog(asgi)


def _make_state_dir(state: Path) -> None:
    state.mkdir(exist_ok=True)
    ignore = state / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# edgemcp dev's store and secret: never commit them\n*\n")


def _dev_secret(path: Path) -> str:
    """The project's dev secret: made once (random, mode 0600), then read back, so session
    ids signed before a restart still verify after it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = path.read_text().strip()
        if not secret:
            raise UsageError(f"{path} is empty: delete it and edgemcp dev makes a new one") from None
        return secret
    secret = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as file:
        file.write(secret + "\n")
    return secret


def _check_port(host: str, port: int) -> None:
    """Bind the address once, as uvicorn will: taken or invalid is one line, before any URL."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UsageError(f"{host}:{port}: address already in use; stop what listens there "
                                 "or choose another --port") from None
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
