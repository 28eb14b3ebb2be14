"""``edgemcp dev module:app``: serve an app locally with reload."""

import argparse
import importlib
import os
import secrets
import sys

from .schema.cli import add_schema_command, run_schema
from .stdio.process import add_stdio_command, run_stdio_command


def _load(target: str) -> object:
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attribute or "app")


def dev(target: str, host: str, port: int, reload: bool) -> None:
    try:
        import uvicorn
    except ImportError:
        sys.exit("edgemcp dev needs uvicorn: pip install 'edgemcp[server]'")
    sys.path.insert(0, os.getcwd())
    if not os.environ.get("EDGEMCP_SECRET"):
        # One secret for the whole dev run, so reloads keep sessions valid.
        os.environ["EDGEMCP_SECRET"] = secrets.token_urlsafe(32)
        print("edgemcp: no EDGEMCP_SECRET set; generated one for this dev server run.")
    module_name, _, attribute = target.partition(":")
    app_object = _load(target)
    factory = False
    if hasattr(app_object, "asgi"):
        # An EdgeMCP instance: serve its ASGI app.
        target = "edgemcp.cli:_dev_app"
        os.environ["EDGEMCP_DEV_TARGET"] = f"{module_name}:{attribute or 'app'}"
        factory = True
    print(f"edgemcp: MCP endpoint at http://{host}:{port}/mcp  (Ctrl+C to stop)", flush=True)
    uvicorn.run(target, host=host, port=port, reload=reload, factory=factory, log_level="info")


def _dev_app() -> object:
    app = _load(os.environ["EDGEMCP_DEV_TARGET"])
    return app.asgi()  # type: ignore[attr-defined]


def _namespace(app: str) -> tuple[str, list[tuple[str, str]]]:
    """The app's store namespace, and its tools with their placement when we can load it."""
    if ":" not in app:
        return app, []
    sys.path.insert(0, os.getcwd())
    loaded = _load(app)
    tools = getattr(loaded, "tools", {})
    return str(getattr(loaded, "name", app)), [(t.name, t.placement) for t in tools.values()]


async def _tools_command(args: argparse.Namespace) -> int:
    from .guards.killswitch import KillSwitches, switch_name
    from .store import Keyspace, open_store

    namespace, tools = _namespace(args.app)
    store = open_store(args.store)
    switches = KillSwitches(Keyspace(store, namespace), refresh=0)
    try:
        if args.action in ("disable", "enable"):
            if bool(args.name) == bool(args.placement):
                print("give a tool NAME or --placement, not both", file=sys.stderr)
                return 2
            name = switch_name(args.name, args.placement)
            await switches.set(name, args.reason if args.action == "disable" else None)
            print(f"{name}: {'disabled' if args.action == 'disable' else 'enabled'}")
            return 0
        current = await switches.current()
        for tool, placement in tools:
            reason = current.get(switch_name(tool)) or current.get(switch_name(placement=placement))
            state = f"disabled ({reason['reason']})" if isinstance(reason, dict) else "enabled"
            print(f"{tool}\t{placement}\t{state}")
        for name, entry in sorted(current.items()):
            print(f"{name}\tdisabled\t{entry.get('reason')}\tsince {entry.get('at')}")
        return 0
    finally:
        await store.aclose()


async def _tokens_command(args: argparse.Namespace) -> int:
    from .guards import BearerTokens
    from .store import Keyspace, open_store

    namespace, _ = _namespace(args.app)
    store = open_store(args.store)
    tokens = BearerTokens(keyspace=Keyspace(store, namespace))
    try:
        if args.action == "add":
            await tokens.add(args.agent, args.token, args.scope)
            print(f"token added for agent {args.agent}")
        else:
            await tokens.revoke(args.token)
            print("token revoked")
        return 0
    finally:
        await store.aclose()


def main(argv: list[str] | None = None) -> None:
    import asyncio

    parser = argparse.ArgumentParser(prog="edgemcp", description="edgemcp command line")
    commands = parser.add_subparsers(dest="command", required=True)
    dev_parser = commands.add_parser("dev", help="run an app under uvicorn with reload")
    dev_parser.add_argument("target", help="module:attribute, an EdgeMCP app or an ASGI app")
    dev_parser.add_argument("--host", default="127.0.0.1")
    dev_parser.add_argument("--port", type=int, default=8000)
    dev_parser.add_argument("--no-reload", action="store_true")

    store_help = "store URL, e.g. redis://127.0.0.1:6379/0 (default: $EDGEMCP_STORE)"
    app_help = "the app: its EdgeMCP name, or module:attribute to load it (lists its tools)"
    tools = commands.add_parser("tools", help="kill switches: disable, enable and list tools")
    tools.add_argument("action", choices=["disable", "enable", "list"])
    tools.add_argument("name", nargs="?", help="tool name")
    tools.add_argument("--placement", choices=["edge", "core", "any"], help="every tool of a placement")
    tools.add_argument("--reason", default="disabled by an operator")
    tools.add_argument("--store", default=os.environ.get("EDGEMCP_STORE"), required=not os.environ.get("EDGEMCP_STORE"), help=store_help)
    tools.add_argument("--app", required=True, help=app_help)

    tokens = commands.add_parser("tokens", help="bearer tokens kept in the store")
    tokens.add_argument("action", choices=["add", "revoke"])
    tokens.add_argument("token")
    tokens.add_argument("--agent", help="agent id (add)")
    tokens.add_argument("--scope", action="append", default=[], help="a scope (repeatable)")
    tokens.add_argument("--store", default=os.environ.get("EDGEMCP_STORE"), required=not os.environ.get("EDGEMCP_STORE"), help=store_help)
    tokens.add_argument("--app", required=True, help=app_help)

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

    args = parser.parse_args(argv)
    if args.command == "dev":
        dev(args.target, args.host, args.port, not args.no_reload)
    elif args.command == "tools":
        sys.exit(asyncio.run(_tools_command(args)))
    elif args.command == "tokens":
        if args.action == "add" and not args.agent:
            parser.error("tokens add needs --agent")
        sys.exit(asyncio.run(_tokens_command(args)))
    elif args.command == "schema":
        sys.exit(run_schema(args))
    elif args.command == "stdio":
        sys.exit(run_stdio_command(args))
    elif args.command == "router":
        from .router.cli import run_router

        sys.exit(run_router(args))


if __name__ == "__main__":
    main()
