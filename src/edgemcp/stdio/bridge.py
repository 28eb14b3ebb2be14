"""MCP over stdio, served by the same app that serves Streamable HTTP.

Each line on stdin is one JSON-RPC message. It goes to the app's ASGI callable in this
process (``edgemcp.inprocess``) as the POST a Streamable HTTP client would send in a
handshake-era session, and every message of the response goes out as a line on stdout
the moment it is sent: progress and log notifications, the server's own requests
(elicitation, sampling, roots), then the response. The client's replies to those
requests come in on stdin like anything else and are POSTed as client replies, which
the app routes through its store to the waiting call. Each request is relayed in its
own task, so a call waiting for an elicitation does not hold up the answer to it.

stdio clients initialize (the 2026-07-28 era is an HTTP one here: a message declaring it
is answered with -32022, naming the versions this transport speaks). The session lives
as long as the process: if the app forgets it (its TTL ran out while the client was
idle), the bridge opens a new one with the client's own ``initialize`` and log level,
and sends the request again.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from ..inprocess import InProcess, Response, accepted_host, mcp_path, messages
from ..jsoncodec import dumps, loads
from ..protocol.dispatch import error_response
from ..protocol.errors import (
    INTERNAL_ERROR,
    PARSE_ERROR,
    MCPError,
    invalid_request,
    unsupported_version,
)
from ..protocol.meta import PROTOCOL_VERSION
from ..protocol.versions import HANDSHAKE_VERSIONS, MODERN_VERSIONS

log = logging.getLogger("edgemcp.stdio")

Write = Callable[[Any], None]  # one JSON-RPC message out, as one line
EOF_GRACE = 1.5  # seconds requests in flight may take to finish once stdin closed
JSON_AND_SSE = b"application/json, text/event-stream"
# Relayed before the next line is read: later requests depend on what they settle (the
# session; the log level a pipelined call should already see).
IN_ORDER = frozenset({"initialize", "logging/setLevel"})


class StdioBridge:
    def __init__(self, driver: InProcess, path: str, headers: dict[str, str], write: Write) -> None:
        self.driver = driver
        self.path = path
        self.headers = headers  # host, and the operator's (a bearer token)
        self.write = write
        self.session_id: str | None = None
        self.version: str | None = None
        self._initialize: dict[str, Any] | None = None  # the client's, to open a session again
        self._log_level: dict[str, Any] | None = None
        self._reopening = asyncio.Lock()
        self._relays: set[asyncio.Task[None]] = set()

    # -- from stdin ------------------------------------------------------------------
    async def receive(self, line: bytes) -> None:
        """One line from stdin."""
        if not line.strip():
            return
        try:
            message = loads(line)
        except (ValueError, RecursionError):
            self.write(error_response(None, MCPError(PARSE_ERROR, "Parse error: a line is not valid JSON")))
            return
        if not isinstance(message, dict):
            self.write(error_response(None, invalid_request("Invalid Request: expected one JSON-RPC object per line")))
            return
        if message.get("method") in IN_ORDER:
            await self._relay(message)
            return
        task = asyncio.create_task(self._relay(message))
        self._relays.add(task)
        task.add_done_callback(self._relays.discard)

    async def finish(self, grace: float = EOF_GRACE) -> None:
        """stdin closed: let requests in flight end (a piped batch still gets its answers),
        cancel what still waits after ``grace`` (nobody is left to answer it), and end the
        session."""
        if self._relays:
            await asyncio.wait(list(self._relays), timeout=grace)
        for task in list(self._relays):
            task.cancel()
        await asyncio.gather(*self._relays, return_exceptions=True)
        if self.session_id is not None:
            response = await self.driver.request("DELETE", self.path, self._headers())
            async with response:
                await response.body()
            self.session_id = None

    # -- to the app ------------------------------------------------------------------
    async def _relay(self, message: dict[str, Any]) -> None:
        is_request = "method" in message and "id" in message
        try:
            await self._forward(message, is_request)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("edgemcp stdio: relaying %s failed: %s", message.get("method", "a reply"), type(exc).__name__)
            log.debug("relay failure", exc_info=True)
            if is_request:
                self.write(error_response(message["id"], MCPError(INTERNAL_ERROR, "Internal error")))

    def _headers(self) -> list[tuple[bytes, bytes]]:
        headers = {"content-type": "application/json", "accept": JSON_AND_SSE.decode(), **self.headers}
        if self.session_id is not None:
            headers["mcp-session-id"] = self.session_id
        if self.version is not None:
            headers["mcp-protocol-version"] = self.version
        return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]

    async def _forward(self, message: dict[str, Any], is_request: bool) -> None:
        params = message.get("params")
        meta = params.get("_meta") if isinstance(params, dict) else None
        declared = meta.get(PROTOCOL_VERSION) if isinstance(meta, dict) else None
        if declared in MODERN_VERSIONS:
            if is_request:
                error = unsupported_version(str(declared), HANDSHAKE_VERSIONS)
                self.write(error_response(message["id"], error))
            return
        method = message.get("method")
        for attempt in range(2):
            sent_session = self.session_id
            response = await self.driver.request("POST", self.path, self._headers(), dumps(message))
            async with response:
                if response.status == 404 and sent_session is not None and attempt == 0 and self._initialize:
                    await response.body()
                    await self._reopen(sent_session)  # the app forgot the session: open another
                    continue
                if method == "initialize" and response.status == 200:
                    self._initialized(message, response)
                await self._out(message, response, is_request)
            return

    async def _out(self, message: dict[str, Any], response: Response, is_request: bool) -> None:
        """Every message of the response onto stdout as it comes. An answer to a
        notification or a reply (a refusal) is no message for the client: it is logged."""
        async for sent in messages(response):
            answers = isinstance(sent, dict) and "method" not in sent
            if answers and not is_request:
                log.warning("edgemcp stdio: the app refused a %s: %s",
                            message.get("method", "reply"), (sent.get("error") or {}).get("message"))
                continue
            if answers and message.get("method") == "logging/setLevel" and "result" in sent:
                self._log_level = dict(message.get("params") or {})
            if answers and message.get("method") == "initialize" and isinstance(sent.get("result"), dict):
                self.version = str(sent["result"].get("protocolVersion") or self.version)
            self.write(sent)

    def _initialized(self, message: dict[str, Any], response: Response) -> None:
        session = response.headers.get("mcp-session-id")
        if session:
            self.session_id = session
            self._initialize = dict(message.get("params") or {})
            self._log_level = None

    async def _reopen(self, lost: str) -> None:
        """A new session in place of ``lost``, initialized as the client initialized the
        first one (once, however many requests found it gone)."""
        async with self._reopening:
            if self.session_id != lost:
                return  # another request already opened a new one
            self.session_id = None
            opened = await self._post({"jsonrpc": "2.0", "id": "edgemcp-stdio-reopen", "method": "initialize",
                                       "params": self._initialize})
            session = opened.headers.get("mcp-session-id")
            if opened.status != 200 or not session:
                raise RuntimeError(f"could not open a new session (HTTP {opened.status})")
            self.session_id = session
            await self._post({"jsonrpc": "2.0", "method": "notifications/initialized"})
            if self._log_level is not None:
                await self._post({"jsonrpc": "2.0", "id": "edgemcp-stdio-level", "method": "logging/setLevel",
                                  "params": self._log_level})
            log.info("edgemcp stdio: the session had expired; opened a new one")

    async def _post(self, message: dict[str, Any]) -> Response:
        response = await self.driver.request("POST", self.path, self._headers(), dumps(message))
        async with response:
            await response.body()
        return response


async def serve(app: Any, lines: AsyncIterator[bytes], write: Write, *,
                headers: dict[str, str] | None = None, grace: float = EOF_GRACE) -> None:
    """Serve ``app`` to the messages in ``lines`` until they end, writing to ``write``.
    Runs the app's lifespan around it (``StartupFailed`` if the app refuses to start)."""
    async with InProcess(app) as driver:
        bridge = StdioBridge(driver, mcp_path(app), {"host": accepted_host(app), **(headers or {})}, write)
        try:
            async for line in lines:
                await bridge.receive(line)
        finally:
            await bridge.finish(grace)
