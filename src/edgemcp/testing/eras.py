"""How a test client speaks each protocol era.

- ``Modern`` (2026-07-28): no session. ``server/discover`` once; every request carries
  ``_meta`` (version, capabilities, client info, log level) and the routing headers; an
  ``input_required`` result is answered by the client's handlers and the request retried
  with ``inputResponses`` and the echoed ``requestState`` (MRTR).
- ``Handshake`` (2024-11-05 … 2025-11-25): ``initialize``, then ``Mcp-Session-Id`` on
  every request; the server's own requests arrive on the call's SSE stream and are
  answered there (see ``Connection``). ``close`` ends the session with a DELETE.
"""

import asyncio
from typing import Any

from ..protocol.errors import HEADER_MISMATCH, INTERNAL_ERROR, MCPError
from ..protocol.meta import (
    CLIENT_CAPABILITIES,
    CLIENT_INFO,
    LOG_LEVEL,
    PROGRESS_TOKEN,
    PROTOCOL_VERSION,
)
from ..protocol.routing_headers import mirrored_params, routing_headers
from .connection import Connection
from .handlers import Listener

STATE_ONLY_WAIT = 0.05  # seconds before retrying an input_required round that asks nothing


class Era:
    """What both eras share: the connection, the client's identity and log level."""

    def __init__(self, connection: Connection, version: str, client_info: dict[str, Any],
                 capabilities: dict[str, Any], log_level: str | None) -> None:
        self.connection = connection
        self.version = version
        self.client_info = client_info
        self.capabilities = capabilities
        self.log_level = log_level
        self.opened: dict[str, Any] = {}  # the InitializeResult or DiscoverResult

    async def open(self) -> dict[str, Any]:
        raise NotImplementedError

    async def close(self) -> None:
        """Nothing to end by default."""

    async def request(self, method: str, params: dict[str, Any], progress: Listener | None = None) -> dict[str, Any]:
        raise NotImplementedError

    async def notify(self, method: str, params: dict[str, Any]) -> None:
        raise NotImplementedError

    async def set_logging_level(self, level: str) -> dict[str, Any]:
        raise NotImplementedError

    def _with_meta(self, params: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
        if not meta:
            return params
        given = params.get("_meta")
        return {**params, "_meta": {**(given if isinstance(given, dict) else {}), **meta}}

    async def _tracked(self, method: str, params: dict[str, Any], meta: dict[str, Any],
                       headers: dict[str, str], progress: Listener | None) -> dict[str, Any]:
        token = self.connection.progress_token(progress) if progress is not None else None
        if token is not None:
            meta = {**meta, PROGRESS_TOKEN: token}
        try:
            result, _ = await self.connection.call(method, self._with_meta(params, meta), headers)
        finally:
            self.connection.forget(token)
        return result


class Modern(Era):
    def __init__(self, *args: Any, max_rounds: int = 10) -> None:
        super().__init__(*args)
        self.max_rounds = max_rounds
        self.header_params: dict[str, dict[str, tuple[str, ...]]] = {}  # per tool, from tools/list

    async def open(self) -> dict[str, Any]:
        self.opened = await self.request("server/discover", {})
        return self.opened

    def meta(self) -> dict[str, Any]:
        meta = {PROTOCOL_VERSION: self.version, CLIENT_CAPABILITIES: self.capabilities,
                CLIENT_INFO: self.client_info}
        if self.log_level is not None:
            meta[LOG_LEVEL] = self.log_level
        return meta

    async def request(self, method: str, params: dict[str, Any], progress: Listener | None = None) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        for _ in range(self.max_rounds + 1):
            result = await self._send(method, {**params, **extra}, progress)
            if result.get("resultType") != "input_required":
                return result
            asked = result.get("inputRequests")
            asked = asked if isinstance(asked, dict) else {}
            if not asked:
                await asyncio.sleep(STATE_ONLY_WAIT)  # the server holds only state: ask again shortly
            answers = {key: await self.connection.handlers.answer(str(request.get("method")), request.get("params") or {})
                       for key, request in asked.items()}
            extra = {"inputResponses": answers} if answers else {}
            if "requestState" in result:
                extra["requestState"] = result["requestState"]
        raise MCPError(INTERNAL_ERROR, f"{method}: still input_required after {self.max_rounds} rounds")

    async def _send(self, method: str, params: dict[str, Any], progress: Listener | None) -> dict[str, Any]:
        name = params.get("name") if method == "tools/call" else None
        try:
            result = await self._tracked(method, params, self.meta(), self._headers(method, params), progress)
        except MCPError as exc:
            # The tool mirrors arguments into headers this client has not learned yet:
            # list the tools (as a client must) and send once more.
            if exc.code != HEADER_MISMATCH or not isinstance(name, str) or name in self.header_params:
                raise
            await self._learn_tools()
            if not self.header_params.get(name):
                raise
            result = await self._tracked(method, params, self.meta(), self._headers(method, params), progress)
        if method == "tools/list":
            self._remember(result)
        return result

    def _headers(self, method: str, params: dict[str, Any]) -> dict[str, str]:
        name = params.get("name")
        mirrored = self.header_params.get(name, {}) if method == "tools/call" and isinstance(name, str) else {}
        return routing_headers(self.version, method, params, mirrored)

    def _remember(self, listed: dict[str, Any]) -> None:
        for tool in listed.get("tools") or []:
            if isinstance(tool, dict) and isinstance(tool.get("name"), str):
                self.header_params[tool["name"]] = mirrored_params(tool.get("inputSchema"))

    async def _learn_tools(self) -> None:
        cursor: Any = None
        while True:
            page = await self._send("tools/list", {"cursor": cursor} if cursor else {}, None)
            cursor = page.get("nextCursor")
            if not cursor:
                return

    async def notify(self, method: str, params: dict[str, Any]) -> None:
        headers = {"mcp-protocol-version": self.version}
        await self.connection.notify(method, self._with_meta(params, self.meta()), headers)

    async def set_logging_level(self, level: str) -> dict[str, Any]:
        # No logging/setLevel in this era: the level travels in each request's _meta.
        self.log_level = level
        return {}


class Handshake(Era):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.session_id: str | None = None
        self.connection.reply_headers = self._headers

    def _headers(self) -> dict[str, str]:
        headers = {"mcp-protocol-version": self.version}
        if self.session_id is not None:
            headers["mcp-session-id"] = self.session_id
        return headers

    async def open(self) -> dict[str, Any]:
        params = {"protocolVersion": self.version, "capabilities": self.capabilities, "clientInfo": self.client_info}
        result, headers = await self.connection.call("initialize", params, {})
        self.session_id = headers.get("mcp-session-id")
        self.version = str(result.get("protocolVersion", self.version))
        self.opened = result
        await self.notify("notifications/initialized", {})
        if self.log_level is not None:
            await self.set_logging_level(self.log_level)
        return result

    async def close(self) -> None:
        if self.session_id is None:
            return
        raw = [(name.encode("latin-1"), value.encode("latin-1"))
               for name, value in {**self.connection.headers, **self._headers()}.items()]
        response = await self.connection.driver.request("DELETE", self.connection.path, raw)
        async with response:
            await response.body()
        self.session_id = None

    async def request(self, method: str, params: dict[str, Any], progress: Listener | None = None) -> dict[str, Any]:
        return await self._tracked(method, params, {}, self._headers(), progress)

    async def notify(self, method: str, params: dict[str, Any]) -> None:
        await self.connection.notify(method, params, self._headers())

    async def set_logging_level(self, level: str) -> dict[str, Any]:
        result = await self.request("logging/setLevel", {"level": level})
        self.log_level = level
        return result
