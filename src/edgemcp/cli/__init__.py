"""The ``edgemcp`` command line: ``dev``, ``call``, ``tools``, ``tokens``, ``schema``, ``stdio``,
``router``.

A user's mistake anywhere (a module that does not import, a store that is down, a server
that does not answer, a port in use) is one line on stderr and exit 2, never a traceback;
an exception of another kind is a bug and keeps its traceback.
"""

import argparse
import asyncio
import sys
from typing import Any

from ..schema.cli import add_schema_command
from ..stdio.process import add_stdio_command
from ..version import __version__
from .call import add_call_command
from .common import UsageError, one_line
from .dev import add_dev_command
from .tokens import add_tokens_command
from .tools import add_tools_command

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edgemcp", description="edgemcp command line")
    parser.add_argument("--version", action="version", version=f"edgemcp {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    add_dev_command(commands)
    add_call_command(commands)
    add_tools_command(commands)
    add_tokens_command(commands)
    add_schema_command(commands)
    add_stdio_command(commands)
    # The router's parser is built here; its module (which needs httpx) loads only to run.
    router = commands.add_parser("router", help="serve a gateway over MCP servers (merged tools, routed calls)")
    router.add_argument("--upstream", action="append", default=[], metavar="NAME=URL", required=True,
                        help="an upstream MCP server (repeatable)")
    router.add_argument("--route", action="append", default=[], metavar="GLOB=NAME",
                        help="tools whose name matches GLOB go to upstream NAME (settles a clash)")
    router.add_argument("--prefix", action="append", default=[], metavar="NAME=PREFIX",
                        help="prefix every name from upstream NAME")
    router.add_argument("--fail-closed", action="append", default=[], metavar="NAME",
                        help="refuse merged lists while upstream NAME is unreachable (default: leave it out)")
    router.add_argument("--timeout", type=float, help="seconds an upstream may stay silent (default 30)")
    router.add_argument("--host", default="127.0.0.1")
    router.add_argument("--port", type=int, default=8000)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the parsed command; its exit code."""
    if args.command == "dev":
        from .dev import run_dev

        return run_dev(args)
    if args.command == "call":
        return int(asyncio.run(_remote().run_call(args)))
    if args.command == "tools":
        from .tools import run_tools

        return asyncio.run(run_tools(args))
    if args.command == "tokens":
        from .tokens import run_tokens

        return asyncio.run(run_tokens(args))
    if args.command == "schema":
        from ..schema.cli import run_schema

        return int(run_schema(args))
    if args.command == "stdio":
        from ..stdio.process import run_stdio_command

        return int(run_stdio_command(args))
    from ..router.cli import run_router

    return int(run_router(args))


def _remote() -> Any:
    try:
        from . import remote
    except ModuleNotFoundError as exc:
        raise UsageError(f"this command needs {exc.name}: pip install 'edgemcp[server]'") from None
    return remote


def user_error(exc: BaseException) -> str | None:
    """What to say about ``exc`` when it is the user's to fix, in one line; None for a bug."""
    if isinstance(exc, UsageError):
        return one_line(exc)
    kinds: list[type[BaseException]] = [ImportError, OSError, ValueError]
    # Only from modules already loaded: a command that never touched them cannot raise them.
    for module, name in (("edgemcp.store.base", "StoreError"), ("edgemcp.runtime", "ConfigurationError"),
                         ("edgemcp.schema.errors", "SchemaError"), ("httpx", "HTTPError")):
        loaded = sys.modules.get(module)
        if loaded is not None:
            kinds.append(getattr(loaded, name))
    if not isinstance(exc, tuple(kinds)):
        return None
    text = one_line(exc)
    return f"{type(exc).__name__}: {text}" if isinstance(exc, OSError) or not text else text


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        code = run(args)
    except KeyboardInterrupt:
        code = 130
    except Exception as exc:
        said = user_error(exc)
        if said is None:
            raise
        print(f"edgemcp {args.command}: {said}", file=sys.stderr)
        code = 2
    sys.exit(code)
