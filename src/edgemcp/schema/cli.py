"""``edgemcp schema lock`` and ``edgemcp schema check``.

Exit codes: 0 compatible (or no change), 1 breaking, 2 usage, input or connection errors.
Every error is one line on stderr; nothing here prints a traceback for a user's mistake.
"""

import argparse
import asyncio
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from .errors import SchemaError
from .report import FORMATS

if TYPE_CHECKING:
    from .surface import Surface

DEFAULT_LOCK = "mcp.lock.json"
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


class _OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line on stderr, exit 2 (argparse prints the whole usage first)."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(2)


def add_schema_command(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Register ``schema lock`` and ``schema check`` under the ``edgemcp`` command."""
    schema = commands.add_parser("schema", help="tool schemas as contracts: lock them, check for breaking changes")
    actions = schema.add_subparsers(dest="schema_command", required=True, parser_class=_OneLineParser)
    target_help = "module:app (read in process, not served) or the http(s)://.../mcp URL of any MCP server"

    lock = actions.add_parser("lock", help="write the surface's lock file")
    lock.add_argument("target", help=target_help)
    lock.add_argument("-o", "--output", default=DEFAULT_LOCK, help=f"lock file to write (default {DEFAULT_LOCK})")

    check = actions.add_parser("check", help="compare the surface with a lock; exit 1 on a breaking change")
    check.add_argument("target", help=target_help)
    check.add_argument("--lock", default=DEFAULT_LOCK, help=f"lock file to compare with (default {DEFAULT_LOCK})")
    check.add_argument("--format", choices=FORMATS, default="human",
                       help="human diff (default), json, or github (Actions annotations)")
    check.add_argument("--allow-breaking", action="store_true",
                       help="accept the changes: rewrite the lock and exit 0")
    for parser in (lock, check):
        parser.add_argument("--header", action="append", default=[], metavar="'NAME: VALUE'",
                            help="HTTP header for every request, e.g. 'Authorization: Bearer ...' (repeatable)")
        parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default 30)")


def run_schema(args: argparse.Namespace) -> int:
    """Run the parsed ``schema`` command; the exit code."""
    try:
        headers = parse_headers(args.header)
        return asyncio.run(_run(args, headers))
    except SchemaError as exc:
        # One line, whatever a server put in its error message.
        print(f"edgemcp schema: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2


def parse_headers(values: list[str]) -> dict[str, str]:
    """``Name: value`` pairs; a malformed one is named by position, never echoed (secrets)."""
    headers: dict[str, str] = {}
    for position, value in enumerate(values, 1):
        name, colon, rest = value.partition(":")
        if not colon or not _HEADER_NAME.match(name.strip()):
            raise SchemaError(f"--header #{position} must look like 'Name: value'")
        headers[name.strip().lower()] = rest.strip()
    return headers


async def _run(args: argparse.Namespace, headers: dict[str, str]) -> int:
    from .lock import build_lock, read_lock, write_lock

    if args.schema_command == "lock":
        surface = await read_target(args.target, headers, args.timeout)
        document = build_lock(surface.server, surface.lists)
        write_lock(Path(args.output), document)
        print(f"wrote {args.output}: {_counts(document)} ({document['digest']})")
        return 0
    lock_path = Path(args.lock)
    locked = read_lock(lock_path)  # a bad lock fails before any connection is made
    surface = await read_target(args.target, headers, args.timeout)
    current = build_lock(surface.server, surface.lists)
    return _check(args, lock_path, locked, current)


def _check(args: argparse.Namespace, lock_path: Path, locked: dict[str, Any], current: dict[str, Any]) -> int:
    from .compare import compare_surfaces
    from .lock import write_lock
    from .report import render

    changes = compare_surfaces(locked, current)
    print(render(changes, args.format, str(lock_path), locked["digest"], current["digest"]))
    breaking = [c for c in changes if c.breaking]
    if not (args.allow_breaking and changes):
        return 1 if breaking else 0
    write_lock(lock_path, current)
    notes = sys.stderr if args.format == "json" else sys.stdout  # keep JSON output parseable
    print(f"Rewrote {lock_path} with the current surface ({current['digest']}).", file=notes)
    if breaking:
        print(version_advice(locked["server"]["version"], current["server"]["version"]), file=notes)
    return 0


def version_advice(locked: str, current: str) -> str:
    """What to do about the version after an intended break (semver: a major bump; 0.x: minor)."""
    old, new = _semver(locked), _semver(current)
    if old is None:
        return f"Breaking changes recorded: bump the server's major version (it is {current or 'unset'!r})."
    wanted = (old[0] + 1, 0, 0) if old[0] > 0 else (0, old[1] + 1, 0)
    if new is not None and new >= wanted:
        return f"Breaking changes recorded; the version is already bumped ({locked} -> {current})."
    return f"Breaking changes recorded: bump the server version from {locked} to {'.'.join(map(str, wanted))}."


def _semver(version: str) -> tuple[int, int, int] | None:
    found = re.match(r"^v?(\d+)\.(\d+)\.(\d+)", version)
    return (int(found[1]), int(found[2]), int(found[3])) if found else None


async def read_target(target: str, headers: dict[str, str], request_timeout: float) -> "Surface":
    """The surface of a URL (over the network) or of ``module:app`` (in process)."""
    try:
        import httpx

        from .inprocess import client_for
        from .surface import read_surface
    except ModuleNotFoundError as exc:
        raise SchemaError(f"edgemcp schema needs {exc.name}: pip install httpx") from None
    if target.startswith(("http://", "https://")):
        async with httpx.AsyncClient(timeout=request_timeout) as client:
            return await read_surface(client, target, headers)
    if "://" in target:
        raise SchemaError(f"{target!r}: only http:// and https:// URLs are supported")
    async with client_for(target, request_timeout) as (client, url):
        return await read_surface(client, url, headers, label=target)


def _counts(document: dict[str, Any]) -> str:
    from .lock import ITEM_NOUNS

    parts = []
    for section, noun in ITEM_NOUNS.items():
        count = len(document[section])
        parts.append(f"{count} {noun}{'' if count == 1 else 's'}")
    return ", ".join(parts)
