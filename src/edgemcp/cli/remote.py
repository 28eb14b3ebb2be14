"""A running server, over HTTP: ``edgemcp call URL TOOL [JSON]`` and
``edgemcp tools list --url URL``.

Speaks 2026-07-28 to a server that answers ``server/discover``, else the handshake era
(``initialize`` and a session, ended with ``DELETE``). Exit codes: 0 done, 1 the tool's
result is an error or the server answered a JSON-RPC error, 2 a usage or connection error.
"""

import argparse
import json
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx

from ..protocol.meta import CACHE, PLACEMENT
from ..protocol.routing_headers import encode_header_value, mirrored_params, param_headers
from ..schema.cli import parse_headers
from ..schema.errors import SchemaError
from ..schema.surface import Connection, NotMCP, RPCError, connect
from ..version import __version__
from .common import UsageError, one_line

CLIENT_INFO = {"name": "edgemcp-cli", "version": __version__}


class CLIConnection(Connection):
    """A 403 carries the JSON-RPC error that says why (a missing scope, a tool switched
    off): the call's answer, not a connection problem. A 401 still is one."""

    def refused(self, method: str, response: httpx.Response) -> None:
        if response.status_code == 401:
            super().refused(method, response)


def _headers(values: list[str]) -> dict[str, str]:
    try:
        return parse_headers(values)
    except SchemaError as exc:
        raise UsageError(str(exc)) from None


@asynccontextmanager
async def session(url: str, headers: Mapping[str, str], seconds: float) -> AsyncIterator[Connection]:
    """A connection to the server at ``url``, in the first era it speaks; what goes wrong
    on the way is a ``UsageError`` (exit 2) in one line, except a JSON-RPC error later."""
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"{url!r} is not an http:// or https:// URL")
    try:
        async with httpx.AsyncClient(timeout=seconds) as client, connect(
                client, url, headers, "auto", url, CLIConnection, CLIENT_INFO) as (connection, _):
            yield connection
    except SchemaError as exc:
        raise UsageError(one_line(exc)) from None
    except NotMCP as exc:
        raise UsageError(f"{url}: unexpected reply: {one_line(exc)}") from None
    except httpx.TimeoutException:
        raise UsageError(f"{url}: timed out") from None
    except httpx.HTTPError as exc:
        raise UsageError(f"cannot reach {url}: {type(exc).__name__}: {one_line(exc)}") from None


def _routing_headers(tool: str, definition: dict[str, Any] | None, arguments: dict[str, Any]) -> dict[str, str]:
    """``Mcp-Name``, and an ``Mcp-Param-*`` header for each ``x-mcp-header`` argument."""
    schema = definition.get("inputSchema") if definition is not None else None
    return {"mcp-name": encode_header_value(tool), **param_headers(mirrored_params(schema), arguments)}


async def run_call(args: argparse.Namespace) -> int:
    try:
        arguments = json.loads(args.arguments)
    except ValueError as exc:
        raise UsageError(f"the arguments are not JSON: {exc}") from None
    if not isinstance(arguments, dict):
        raise UsageError("the arguments must be a JSON object, e.g. '{\"city\": \"Oslo\"}'")
    async with session(args.url, _headers(args.header), args.timeout) as connection:
        try:
            extra: dict[str, str] = {}
            if connection.modern:  # routing headers: the tool's x-mcp-header arguments too
                listed = await connection.list_all("tools/list", "tools")
                definition = next((t for t in listed if t.get("name") == args.tool), None)
                extra = _routing_headers(args.tool, definition, arguments)
            result = await connection.request("tools/call", {"name": args.tool, "arguments": arguments}, extra)
        except RPCError as exc:
            return _rpc_error(args, exc)
    return _print_result(args, result)


def _rpc_error(args: argparse.Namespace, exc: RPCError) -> int:
    if args.json:
        error: dict[str, Any] = {"code": exc.code, "message": exc.message}
        if exc.data is not None:
            error["data"] = exc.data
        print(json.dumps({"error": error}, indent=2, ensure_ascii=False))
    else:
        print(f"edgemcp call: {one_line(exc.message)} (error {exc.code})", file=sys.stderr)
    return 1


def _print_result(args: argparse.Namespace, result: dict[str, Any]) -> int:
    kind = result.get("resultType", "complete")
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    elif kind == "input_required":
        asked = ", ".join(sorted(result.get("inputRequests") or {}))
        print(f"edgemcp call: the tool asks the client for input ({asked}); edgemcp call cannot answer",
              file=sys.stderr)
    elif kind == "task":
        print(f"task {result.get('taskId')} {result.get('status')}")
    else:
        for line in _content_lines(result):
            print(line)
    return 1 if result.get("isError") or kind == "input_required" else 0


def _content_lines(result: dict[str, Any]) -> list[str]:
    """The text of a tool result, and a placeholder for what is not text."""
    lines: list[str] = []
    content = result.get("content")
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            lines.append(str(block.get("text", "")))
        elif kind in ("image", "audio"):
            lines.append(f"[{kind} {block.get('mimeType', '?')}, {len(str(block.get('data', '')))} base64 characters]")
        elif kind == "resource" and isinstance(block.get("resource"), dict):
            resource = block["resource"]
            lines.append(str(resource["text"]) if "text" in resource else f"[resource {resource.get('uri')}]")
        elif kind == "resource_link":
            lines.append(f"[link {block.get('uri')}]")
        else:
            lines.append(f"[{kind}]")
    if not lines and "structuredContent" in result:
        lines.append(json.dumps(result["structuredContent"], ensure_ascii=False))
    return lines


async def list_remote(args: argparse.Namespace) -> int:
    """A running server's tools: name, placement and cache policy (from their ``_meta``)."""
    async with session(args.url, _headers(args.header), args.timeout) as connection:
        try:
            tools = await connection.list_all("tools/list", "tools")
        except RPCError as exc:
            print(f"edgemcp tools: {one_line(exc)}", file=sys.stderr)
            return 1
    for tool in tools:
        meta = tool.get("_meta")
        meta = meta if isinstance(meta, dict) else {}
        cache = meta.get(CACHE)
        policy = (f"cache {cache.get('scope', '?')} {cache.get('ttlMs', 0) / 1000:g}s"
                  if isinstance(cache, dict) and isinstance(cache.get("ttlMs"), int | float) else "no cache")
        print(f"{tool.get('name')}\t{meta.get(PLACEMENT, '-')}\t{policy}")
    return 0
