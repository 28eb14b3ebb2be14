"""Serving an app over this process's stdin and stdout: ``edgemcp stdio module:app`` and
``app.run()``.

stdout carries JSON-RPC and nothing else, so the first thing done is to keep a private
handle on it for the protocol and point file descriptor 1 at stderr: ``print``, logging,
the audit log's default handler and child processes all write to stderr from then on.
The store is the app's (``$EDGEMCP_STORE``, else memory; ``--store`` sets it). Sessions
live as long as the process, so without ``$EDGEMCP_SECRET`` a secret is made for it.
"""

import argparse
import asyncio
import logging
import os
import secrets
import signal
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import suppress
from typing import Any, BinaryIO, Literal

from ..inprocess import StartupFailed
from ..jsoncodec import dumps
from ..targets import TargetError, import_target
from .bridge import Write, serve

log = logging.getLogger("edgemcp.stdio")

TOKEN_ENV = "EDGEMCP_STDIO_TOKEN"


class LoadError(Exception):
    """``module:app`` names nothing servable (the message says why, in one line)."""


def claim_stdout() -> BinaryIO:
    """A handle on stdout for the protocol alone; everything else now goes to stderr."""
    sys.stdout.flush()
    try:
        out, err = sys.stdout.fileno(), sys.stderr.fileno()
    except (AttributeError, ValueError, OSError):  # stdout replaced by a non-file (a test harness)
        protocol: BinaryIO = sys.stdout.buffer
        sys.stdout = sys.stderr
        return protocol
    protocol = os.fdopen(os.dup(out), "wb")
    os.dup2(err, out)
    return protocol


def writer(stream: BinaryIO) -> Write:
    def write(message: Any) -> None:
        try:
            stream.write(dumps(message) + b"\n")
            stream.flush()
        except (BrokenPipeError, ValueError):  # the client closed our stdout: it is going away
            log.debug("edgemcp stdio: stdout closed; dropped a message")

    return write


async def stdin_lines() -> AsyncIterator[bytes]:
    """Lines of stdin until EOF (or SIGTERM). A daemon thread reads them: that works for
    pipes, files and terminals alike, and never holds up the process's exit. It reads the
    file descriptor itself: a thread blocked inside ``sys.stdin.buffer`` would hold its
    lock, which the interpreter's shutdown then waits for in vain."""
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[bytes] = asyncio.Queue()

    def deliver(line: bytes) -> bool:
        try:
            loop.call_soon_threadsafe(lines.put_nowait, line)
        except RuntimeError:  # the loop is gone
            return False
        return True

    def pump() -> None:
        fd = sys.stdin.fileno()
        pending = b""
        while True:
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                if pending:
                    deliver(pending)
                deliver(b"")
                return
            *complete, pending = (pending + chunk).split(b"\n")
            for line in complete:
                if not deliver(line + b"\n"):
                    return

    threading.Thread(target=pump, name="edgemcp-stdin", daemon=True).start()
    with suppress(NotImplementedError, RuntimeError):  # no signal handlers off the main thread
        loop.add_signal_handler(signal.SIGTERM, lines.put_nowait, b"")
    while line := await lines.get():
        yield line


def run_stdio(app: Any, *, token: str | None = None, protocol: BinaryIO | None = None) -> int:
    """Serve ``app`` (an EdgeMCP app or an ASGI app serving MCP) over stdio until stdin
    closes. Returns the exit status."""
    protocol = protocol if protocol is not None else claim_stdout()
    os.environ.setdefault("EDGEMCP_SECRET", secrets.token_urlsafe(32))
    token = token if token is not None else os.environ.get(TOKEN_ENV)
    headers = {"authorization": f"Bearer {token}"} if token else {}
    try:
        asyncio.run(serve(app, stdin_lines(), writer(protocol), headers=headers))
    except StartupFailed as exc:
        lines = str(exc).strip().splitlines() or ["no reason given"]
        print(f"edgemcp stdio: the app failed to start: {lines[-1]}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


def run(app: Any, transport: Literal["stdio", "http"] = "stdio", *, host: str = "127.0.0.1",
        port: int = 8000) -> None:
    """``EdgeMCP.run``: stdio for a local client that launches the server, or HTTP."""
    if transport == "stdio":
        sys.exit(run_stdio(app))
    if transport != "http":
        raise ValueError(f"transport must be 'stdio' or 'http', not {transport!r}")
    try:
        import uvicorn
    except ImportError:
        sys.exit("serving HTTP needs uvicorn: pip install 'edgemcp[server]'")
    uvicorn.run(app, host=host, port=port)


def load(target: str) -> Any:
    """The app ``module:attribute`` names (attribute defaults to ``app``)."""
    try:
        found = import_target(target)
    except TargetError as exc:
        raise LoadError(str(exc)) from None
    if not callable(found):
        raise LoadError(f"{target} is a {type(found).__name__}, not an app")
    return found


# -- the command line (edgemcp.cli calls these) ----------------------------------------
def add_stdio_command(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = commands.add_parser("stdio", help="serve an app over stdio, for a local client that launches it")
    parser.add_argument("target", help="module:attribute, an EdgeMCP app or its ASGI app")
    parser.add_argument("--store", help="store URL (default: $EDGEMCP_STORE, else memory://)")
    parser.add_argument("--token", help=f"a bearer token to present to the app (default: ${TOKEN_ENV})")


def run_stdio_command(args: argparse.Namespace) -> int:
    protocol = claim_stdout()  # before the app is imported: an import-time print must not reach stdout
    if args.store:
        os.environ["EDGEMCP_STORE"] = args.store
    try:
        app = load(args.target)
    except LoadError as exc:
        print(f"edgemcp stdio: {exc}", file=sys.stderr)
        return 2
    return run_stdio(app, token=args.token, protocol=protocol)
