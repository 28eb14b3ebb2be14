"""Read a server's surface (tools, prompts, resources, resource templates) over MCP.

Works against any MCP server, in either era: 2026-07-28 first (``server/discover``, every
request stateless with its ``_meta`` and headers), and if the server does not speak it, the
handshake era (``initialize``, ``notifications/initialized``, the lists with the
``Mcp-Session-Id`` it returned, then ``DELETE``). Replies may be JSON or an SSE stream.
Every list is read to its last page (``nextCursor``). Only the lists the server declares a
capability for are asked for.
"""

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from .. import __version__
from .errors import SchemaError

MODERN = "2026-07-28"
HANDSHAKE = "2025-11-25"
Era = Literal["auto", "modern", "handshake"]
PROTOCOL_VERSION_META = "io.modelcontextprotocol/protocolVersion"
CLIENT_CAPABILITIES_META = "io.modelcontextprotocol/clientCapabilities"
CLIENT_INFO_META = "io.modelcontextprotocol/clientInfo"
SERVER_INFO_META = "io.modelcontextprotocol/serverInfo"
CLIENT_INFO = {"name": "edgemcp-schema", "version": __version__}
# (lock section, list method, result key, capability that announces it)
LISTS = (
    ("tools", "tools/list", "tools", "tools"),
    ("prompts", "prompts/list", "prompts", "prompts"),
    ("resources", "resources/list", "resources", "resources"),
    ("resourceTemplates", "resources/templates/list", "resourceTemplates", "resources"),
)
METHOD_NOT_FOUND = -32601
_MAX_PAGES = 10_000


@dataclass
class Surface:
    """What a server exposes: its name and version, and each list's definitions."""

    server: dict[str, str]
    lists: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    protocol_version: str = ""


class RPCError(Exception):
    """The server answered a request with a JSON-RPC error."""

    def __init__(self, method: str, code: Any, message: Any, data: Any = None) -> None:
        super().__init__(f"{method} failed: {message} (error {code})")
        self.code = code
        self.message = message
        self.data = data


class NotMCP(Exception):
    """The reply is not an MCP (JSON-RPC) reply at all: the reason, without its body."""


class Connection:
    """One conversation with an MCP endpoint, in one era."""

    def __init__(self, client: httpx.AsyncClient, url: str, headers: Mapping[str, str], era: Era,
                 label: str, client_info: Mapping[str, str] = CLIENT_INFO) -> None:
        self.client = client
        self.client_info = dict(client_info)
        self.url = url
        self.label = label  # how messages name the server: its URL, or module:app
        self.headers = {"accept": "application/json, text/event-stream", **headers}
        self.modern = era == "modern"
        self.version = MODERN if self.modern else HANDSHAKE
        self.session_id: str | None = None
        self.server_info: dict[str, Any] | None = None
        self._handshake_done = False
        self._next_id = 0

    def initialized(self, result: dict[str, Any]) -> None:
        """Take what ``initialize`` negotiated: the version every later request declares."""
        if isinstance(result.get("protocolVersion"), str):
            self.version = result["protocolVersion"]
        if isinstance(result.get("serverInfo"), dict):
            self.server_info = result["serverInfo"]
        self._handshake_done = True

    def _request_headers(self, method: str | None) -> dict[str, str]:
        headers = dict(self.headers)
        if self.modern:
            headers["mcp-protocol-version"] = MODERN
            if method is not None:
                headers["mcp-method"] = method
        elif self._handshake_done:
            headers["mcp-protocol-version"] = self.version
        if self.session_id is not None:
            headers["mcp-session-id"] = self.session_id
        return headers

    async def request(self, method: str, params: dict[str, Any] | None = None,
                      headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Send one request (``headers``: more for this one, such as ``Mcp-Name``); its
        ``result``, or ``RPCError`` / ``NotMCP``."""
        self._next_id += 1
        params = dict(params or {})
        if self.modern:
            params["_meta"] = {PROTOCOL_VERSION_META: MODERN, CLIENT_CAPABILITIES_META: {},
                               CLIENT_INFO_META: self.client_info}
        message = {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params}
        response = await self.client.post(self.url, json=message,
                                          headers={**self._request_headers(method), **(headers or {})})
        if method == "initialize":
            self.session_id = response.headers.get("mcp-session-id")
        if response.status_code in (401, 403):
            self.refused(method, response)
        reply = _reply(response, self._next_id)
        if "error" in reply:
            error = reply["error"] if isinstance(reply["error"], dict) else {}
            raise RPCError(method, error.get("code"), error.get("message"), error.get("data"))
        result = reply.get("result")
        if not isinstance(result, dict):
            raise NotMCP(f"{method} returned no result object")
        meta = result.get("_meta")
        if self.server_info is None and isinstance(meta, dict) and isinstance(meta.get(SERVER_INFO_META), dict):
            self.server_info = meta[SERVER_INFO_META]
        return result

    def refused(self, method: str, response: httpx.Response) -> None:
        """A 401 or 403: not a question of era, so no point in trying the other one. (A
        subclass may read a 403 as the JSON-RPC error it carries, by returning.)"""
        raise SchemaError(f"{self.label}: HTTP {response.status_code} on {method}{_error_text(response)}; "
                          "pass credentials with --header 'Authorization: Bearer ...'")

    async def notify(self, method: str) -> None:
        message = {"jsonrpc": "2.0", "method": method}
        response = await self.client.post(self.url, json=message, headers=self._request_headers(None))
        if response.status_code >= 400:
            raise NotMCP(f"{method} answered HTTP {response.status_code}")

    async def close(self) -> None:
        """End the handshake session, if any; a server that keeps sessions forever is not our
        problem, so failures here are ignored."""
        if self.session_id is None:
            return
        with suppress(httpx.HTTPError):
            await self.client.delete(self.url, headers=self._request_headers(None))

    async def list_all(self, method: str, key: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: Any = None
        seen: set[str] = set()
        for _ in range(_MAX_PAGES):
            result = await self.request(method, {"cursor": cursor} if cursor is not None else None)
            page = result.get(key)
            if not isinstance(page, list) or not all(isinstance(i, dict) for i in page):
                raise SchemaError(f"{method}: the reply has no list of objects under {key!r}")
            items.extend(page)
            cursor = result.get("nextCursor")
            if cursor is None:
                return items
            if not isinstance(cursor, str) or cursor in seen:
                raise SchemaError(f"{method}: the server returned a repeated or invalid nextCursor")
            seen.add(cursor)
        raise SchemaError(f"{method}: more than {_MAX_PAGES} pages")


def _reply(response: httpx.Response, request_id: int) -> dict[str, Any]:
    """The JSON-RPC reply to ``request_id`` from a JSON body or an SSE stream."""
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "text/event-stream":
        for data in _sse_data(response.text):
            try:
                message = json.loads(data)
            except ValueError:
                continue
            if isinstance(message, dict) and message.get("id") == request_id:
                return message
        raise NotMCP(f"HTTP {response.status_code}: the event stream carried no reply")
    try:
        message = response.json()
    except ValueError:
        raise NotMCP(f"HTTP {response.status_code} with a {content_type or 'untyped'} body, not JSON-RPC") from None
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0" or not ({"result", "error"} & message.keys()):
        raise NotMCP(f"HTTP {response.status_code}: the body is JSON but not a JSON-RPC reply")
    return message


def _error_text(response: httpx.Response) -> str:
    """The JSON-RPC error message of a refusal, if it has one."""
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return ""
    return f" ({message})" if isinstance(message, str) else ""


def _sse_data(text: str) -> list[str]:
    """The data of each event in an SSE stream (multi-line data joined with newlines)."""
    events: list[str] = []
    lines: list[str] = []
    for line in text.splitlines():
        if not line:
            if lines:
                events.append("\n".join(lines))
            lines = []
        elif line.startswith("data:"):
            lines.append(line[5:].removeprefix(" "))
    if lines:
        events.append("\n".join(lines))
    return events


@asynccontextmanager
async def connect(client: httpx.AsyncClient, url: str, headers: Mapping[str, str], era: Era, label: str,
                  kind: type[Connection] = Connection, client_info: Mapping[str, str] = CLIENT_INFO,
                  ) -> AsyncIterator[tuple[Connection, dict[str, Any]]]:
    """A connection (a ``kind``) in the first era the server speaks, and its capabilities."""
    if era in ("auto", "modern"):
        connection = kind(client, url, headers, "modern", label, client_info)
        try:
            discovered = await connection.request("server/discover")
            versions = discovered.get("supportedVersions")
            failure = None if isinstance(versions, list) and MODERN in versions else f"server/discover does not list {MODERN}"
        except (RPCError, NotMCP) as exc:
            failure = str(exc)
        if failure is None:
            yield connection, _capabilities(discovered)
            return
        if era == "modern":
            raise SchemaError(f"{label} does not speak MCP {MODERN}: {failure}")
    connection = kind(client, url, headers, "handshake", label, client_info)
    try:
        initialized = await connection.request(
            "initialize", {"protocolVersion": HANDSHAKE, "capabilities": {}, "clientInfo": dict(client_info)})
    except (RPCError, NotMCP) as exc:
        raise SchemaError(f"{label} does not look like an MCP server: {exc}") from None
    try:
        connection.initialized(initialized)
        await connection.notify("notifications/initialized")
        yield connection, _capabilities(initialized)
    finally:
        await connection.close()


def _capabilities(result: dict[str, Any]) -> dict[str, Any]:
    capabilities = result.get("capabilities")
    return capabilities if isinstance(capabilities, dict) else {}


async def read_surface(client: httpx.AsyncClient, url: str, headers: Mapping[str, str] | None = None,
                       era: Era = "auto", label: str | None = None) -> Surface:
    """The surface of the MCP server at ``url``; ``SchemaError`` for anything a user must fix.
    ``label`` names the server in messages (default: the URL)."""
    label = label or url
    try:
        async with connect(client, url, headers or {}, era, label) as (connection, capabilities):
            lists: dict[str, list[dict[str, Any]]] = {}
            for section, method, key, capability in LISTS:
                if capability not in capabilities:
                    continue
                try:
                    lists[section] = await connection.list_all(method, key)
                except RPCError as exc:
                    if exc.code != METHOD_NOT_FOUND:  # e.g. resources without templates
                        raise SchemaError(f"{label}: {exc}") from None
            info = connection.server_info or {}
            server = {"name": str(info.get("name", "")), "version": str(info.get("version", ""))}
            return Surface(server, lists, connection.version)
    except NotMCP as exc:
        raise SchemaError(f"{label}: unexpected reply: {exc}") from None
    except httpx.TimeoutException:
        raise SchemaError(f"{label}: timed out") from None
    except httpx.HTTPError as exc:
        raise SchemaError(f"cannot reach {label}: {type(exc).__name__}: {exc}") from None
