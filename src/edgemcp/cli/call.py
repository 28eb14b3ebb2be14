"""``edgemcp call URL TOOL [JSON]``: call a tool on a running server (the work is in
``remote``, which needs httpx: loaded only to run)."""

import argparse


def add_call_command(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    call = commands.add_parser("call", help="call a tool on a running MCP server")
    call.add_argument("url", help="the server's MCP endpoint, e.g. http://127.0.0.1:8000/mcp")
    call.add_argument("tool", help="the tool's name")
    call.add_argument("arguments", nargs="?", default="{}", metavar="JSON",
                      help='the arguments as a JSON object (default {}), e.g. \'{"city": "Oslo"}\'')
    call.add_argument("--json", action="store_true", help="print the whole result as JSON")
    add_http_options(call)


def add_http_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--header", action="append", default=[], metavar="'NAME: VALUE'",
                        help="HTTP header for every request, e.g. 'Authorization: Bearer ...' (repeatable)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default 30)")
