"""``edgemcp dev module:app``: serve an app locally with reload."""

import argparse
import importlib
import os
import secrets
import sys


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="edgemcp", description="edgemcp command line")
    commands = parser.add_subparsers(dest="command", required=True)
    dev_parser = commands.add_parser("dev", help="run an app under uvicorn with reload")
    dev_parser.add_argument("target", help="module:attribute, an EdgeMCP app or an ASGI app")
    dev_parser.add_argument("--host", default="127.0.0.1")
    dev_parser.add_argument("--port", type=int, default=8000)
    dev_parser.add_argument("--no-reload", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "dev":
        dev(args.target, args.host, args.port, not args.no_reload)


if __name__ == "__main__":
    main()
