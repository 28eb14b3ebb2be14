"""``edgemcp tools disable|enable|list``: kill switches in an app's store, and
``edgemcp tools list --url URL``: a running server's tools.

A change names the store it was written to and is refused on ``memory://`` (this
process's own store: nothing there reaches a server). A store that cannot be read is an
error, never a list of "enabled" tools.
"""

import argparse
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from ..store import Keyspace, Store, StoreError, open_store
from .common import UsageError, human_time, load_app, one_line, refuse_memory, resolve_store, shown

STORE_HELP = ("store URL, e.g. redis://127.0.0.1:6379/0 (default: $EDGEMCP_STORE, else the dev server's "
              ".edgemcp/dev.db in this project)")
APP_HELP = "the app: module:attribute (checks tool names) or its EdgeMCP name (its store namespace)"


def add_tools_command(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    from .call import add_http_options

    tools = commands.add_parser("tools", help="kill switches: disable, enable and list tools")
    tools.add_argument("action", choices=["disable", "enable", "list"])
    tools.add_argument("name", nargs="?", help="tool name")
    tools.add_argument("--placement", choices=["edge", "core", "any"], help="every tool of a placement")
    tools.add_argument("--reason", default="disabled by an operator")
    tools.add_argument("--store", help=STORE_HELP)
    tools.add_argument("--app", help=APP_HELP)
    tools.add_argument("--url", help="list a running server's tools instead (its MCP endpoint)")
    add_http_options(tools)


class Target:
    """The app a command acts for: its store namespace and, when loaded, its tools."""

    def __init__(self, app: str) -> None:
        self.given = app
        self.tools: dict[str, str] | None = None  # name -> placement; None: not loaded
        if ":" in app:
            loaded = load_app(app)
            self.namespace = str(loaded.name)
            self.tools = {t.name: t.placement for t in loaded.tools.values()}
        else:
            self.namespace = app

    def describe(self) -> str:
        return f"app {self.namespace!r}" if self.tools is None else f"app {self.namespace!r} ({self.given})"


@asynccontextmanager
async def opened(url: str) -> AsyncIterator[Store]:
    """The store at ``url``; a failure inside is one line naming it (exit 2)."""
    store = open_store(url)
    try:
        yield store
    except StoreError as exc:
        raise UsageError(f"the store at {shown(url)} is unavailable: {one_line(exc)}") from None
    finally:
        with suppress(StoreError):  # already reported, or nothing was open
            await store.aclose()


async def run_tools(args: argparse.Namespace) -> int:
    if args.url:
        if args.action != "list":
            raise UsageError("--url lists a running server's tools: kill switches change in its store "
                             "(--store, --app)")
        from . import _remote

        return await _remote().list_remote(args)  # type: ignore[no-any-return]
    if not args.app:
        raise UsageError("--app is required: module:attribute, or the app's name")
    target = Target(args.app)
    url = resolve_store(args.store)
    refuse_memory(url)
    if args.action == "list":
        return await _list(target, url)
    if bool(args.name) == bool(args.placement):
        raise UsageError("give a tool NAME or --placement, not both")
    return await _switch(args, target, url)


async def _switch(args: argparse.Namespace, target: Target, url: str) -> int:
    from ..guards.killswitch import KillSwitches, switch_name

    name = switch_name(args.name, args.placement)
    async with opened(url) as store:
        switches = KillSwitches(Keyspace(store, target.namespace), refresh=0)
        if args.name and target.tools is None:
            print(f"edgemcp tools: --app {args.app} is a name, not module:attribute: tool {args.name!r} "
                  "is not checked against the app", file=sys.stderr)
        elif (args.name and target.tools is not None and args.name not in target.tools
              # enabling a tool the app no longer has may still clear its old switch
              and (args.action == "disable" or name not in await switches.read())):
            known = ", ".join(sorted(target.tools)) or "none"
            raise UsageError(f"{target.given} has no tool {args.name!r} (its tools: {known})")
        before = await switches.set(name, args.reason if args.action == "disable" else None)
    where = f"in {shown(url)} for {target.describe()}"
    if args.action == "disable":
        print(f"{name}: disabled {where}: {args.reason}")
    elif before is None:
        print(f"{name}: enabled {where} (it was not disabled)")
    else:
        print(f"{name}: enabled {where}")
    return 0


async def _list(target: Target, url: str) -> int:
    from ..guards.killswitch import KillSwitches, switch_name

    async with opened(url) as store:
        current = await KillSwitches(Keyspace(store, target.namespace), refresh=0).read()
    print(f"edgemcp tools: kill switches of {target.describe()} in {shown(url)}", file=sys.stderr)
    for tool, placement in (target.tools or {}).items():
        entry = current.get(switch_name(tool)) or current.get(switch_name(placement=placement))
        print(f"{tool}\t{placement}\t{_state(entry)}")
    for name, entry in sorted(current.items()):
        reason = entry.get("reason") if isinstance(entry, dict) else None
        at = entry.get("at") if isinstance(entry, dict) else None
        print(f"{name}\tdisabled\t{reason}\tsince {human_time(at)}")
    return 0


def _state(entry: Any) -> str:
    if entry is None:
        return "enabled"
    if not isinstance(entry, dict):
        return "disabled"
    return f"disabled ({entry.get('reason')}) since {human_time(entry.get('at'))}"
