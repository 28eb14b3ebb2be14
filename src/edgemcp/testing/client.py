"""``Client(app)``: an MCP client for tests, talking to an app in this process.

    async with Client(app) as client:                  # 2026-07-28
        result = await client.call_tool("forecast", {"city": "Paris"})
        assert result["content"][0]["text"] == "Sunny in Paris"

    async with Client(app, era="handshake") as client:  # initialize, session, SSE
        ...

No socket is opened: requests go straight to the app's ASGI callable, with responses
streamed (``edgemcp.inprocess``), so a handshake-era call can ask the client something
and get its answer while it runs. The app's lifespan runs around the block (its runtime
starts on entry and shuts down on exit).

Results are the JSON-RPC ``result`` objects as the server sent them (plain dicts: e.g.
``call_tool`` gives ``{"content": [...], "structuredContent": ..., "isError": ...}``; in
the 2026-07-28 era also ``resultType`` and ``_meta``). A JSON-RPC error raises
``ResponseError``, an ``edgemcp.MCPError`` with ``code``, ``message``, ``data``, and the
HTTP ``status`` and ``headers``. A failed tool is not an error: its result has
``isError: true``.
"""

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Literal

from ..inprocess import InProcess, accepted_host, mcp_path
from ..protocol.versions import LATEST_HANDSHAKE, LATEST_MODERN
from ..types import ASGIApp
from ..version import __version__
from .connection import Connection
from .eras import Era, Handshake, Modern
from .handlers import ClientHandlers, Handler, Listener


class Client:
    """An in-process MCP client for ``app`` (an ``EdgeMCP``, its ``asgi()``, or any ASGI
    app serving MCP at ``path``).

    ``era`` is ``"modern"`` (2026-07-28, the default) or ``"handshake"``;
    ``protocol_version`` picks another version of that era. ``headers`` go on every
    request (``token`` is a shortcut for ``Authorization: Bearer <token>``).

    The handlers answer what the server asks: ``elicitation_handler`` and
    ``sampling_handler`` get the request's params and return its result (sync or async);
    ``roots`` is a list of roots (URIs or root objects) or such a handler. Declaring a
    handler declares the capability. ``logging_handler`` gets each
    ``notifications/message``'s params and ``progress_handler`` each
    ``notifications/progress``'s (a progress token is sent with every call when there is
    one). Log messages are asked for at ``log_level``: by default ``"debug"`` when there is
    a logging handler, else none. ``timeout`` bounds each request, in seconds
    (``TimeoutError``); ``max_rounds`` the MRTR rounds of one request.
    """

    def __init__(
        self,
        app: Any,
        *,
        era: Literal["modern", "handshake"] = "modern",
        protocol_version: str | None = None,
        headers: Mapping[str, str] | None = None,
        token: str | None = None,
        elicitation_handler: Handler | None = None,
        sampling_handler: Handler | None = None,
        roots: Sequence[str | dict[str, Any]] | Handler | None = None,
        logging_handler: Listener | None = None,
        progress_handler: Listener | None = None,
        log_level: str | None = None,
        client_info: dict[str, Any] | None = None,
        capabilities: dict[str, Any] | None = None,
        path: str | None = None,
        max_rounds: int = 10,
        timeout: float | None = None,
    ) -> None:
        if era not in ("modern", "handshake"):
            raise ValueError(f"era must be 'modern' or 'handshake', not {era!r}")
        self.app: ASGIApp = app
        self.era = era
        self._version = protocol_version or (LATEST_MODERN if era == "modern" else LATEST_HANDSHAKE)
        self._headers = {name.lower(): value for name, value in (headers or {}).items()}
        if token is not None:
            self._headers["authorization"] = f"Bearer {token}"
        self.handlers = ClientHandlers(elicitation=elicitation_handler, sampling=sampling_handler, roots=roots,
                                       logging=logging_handler, progress=progress_handler)
        self._log_level = log_level if log_level is not None else "debug" if logging_handler is not None else None
        self._client_info = client_info or {"name": "edgemcp-testing", "version": __version__}
        self._capabilities = {**self.handlers.capabilities(), **(capabilities or {})}
        self._path = path
        self._max_rounds = max_rounds
        self._timeout = timeout
        self._driver: InProcess | None = None
        self._era: Era | None = None

    # -- lifecycle -----------------------------------------------------------------------
    async def __aenter__(self) -> "Client":
        driver = InProcess(self.app)
        await driver.__aenter__()
        try:
            headers = {"host": accepted_host(self.app), **self._headers}
            connection = Connection(driver, self._path or mcp_path(self.app), headers, self.handlers,
                                    self._timeout)
            args = (connection, self._version, self._client_info, self._capabilities, self._log_level)
            self._era = Modern(*args, max_rounds=self._max_rounds) if self.era == "modern" else Handshake(*args)
            self._driver = driver
            await self._era.open()
        except BaseException as exc:
            await driver.__aexit__(type(exc), exc, exc.__traceback__)
            self._driver = self._era = None
            raise
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        driver, era = self._driver, self._era
        self._driver = self._era = None
        if driver is None or era is None:
            return
        try:
            await driver.cancel_requests()
            await era.close()
        finally:
            await driver.__aexit__(kind, error, trace)

    @property
    def _connected(self) -> Era:
        if self._era is None:
            raise RuntimeError("use the client inside `async with Client(app) as client:`")
        return self._era

    # -- what the connection settled -----------------------------------------------------
    @property
    def protocol_version(self) -> str:
        return self._connected.version

    @property
    def server_result(self) -> dict[str, Any]:
        """The ``initialize`` result (handshake era) or the ``server/discover`` result."""
        return self._connected.opened

    @property
    def server_capabilities(self) -> dict[str, Any]:
        capabilities = self.server_result.get("capabilities")
        return capabilities if isinstance(capabilities, dict) else {}

    @property
    def server_info(self) -> dict[str, Any] | None:
        opened = self.server_result
        info = opened.get("serverInfo") or (opened.get("_meta") or {}).get("io.modelcontextprotocol/serverInfo")
        return info if isinstance(info, dict) else None

    @property
    def instructions(self) -> str | None:
        instructions = self.server_result.get("instructions")
        return instructions if isinstance(instructions, str) else None

    @property
    def session_id(self) -> str | None:
        """The handshake era's ``Mcp-Session-Id`` (None in the 2026-07-28 era)."""
        era = self._connected
        return era.session_id if isinstance(era, Handshake) else None

    @property
    def notifications(self) -> list[dict[str, Any]]:
        """Every notification the server sent so far, whole, in order."""
        return self._connected.connection.notifications

    # -- requests ------------------------------------------------------------------------
    async def request(self, method: str, params: dict[str, Any] | None = None, *,
                      progress_handler: Listener | None = None) -> dict[str, Any]:
        """Any request by name; returns its result (MRTR rounds answered in 2026-07-28)."""
        return await self._connected.request(method, params or {}, progress_handler or self.handlers.progress)

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        await self._connected.notify(method, params or {})

    async def list_tools(self, cursor: str | None = None) -> dict[str, Any]:
        return await self.request("tools/list", _paged(cursor))

    async def call_tool(self, name: str, arguments: dict[str, Any] | None = None, *,
                        progress_handler: Listener | None = None, meta: dict[str, Any] | None = None) -> dict[str, Any]:
        """Call a tool; ``progress_handler`` (else the client's) gets its progress."""
        params: dict[str, Any] = {"name": name, "arguments": arguments or {}}
        if meta:
            params["_meta"] = dict(meta)
        return await self.request("tools/call", params, progress_handler=progress_handler)

    async def list_resources(self, cursor: str | None = None) -> dict[str, Any]:
        return await self.request("resources/list", _paged(cursor))

    async def list_resource_templates(self, cursor: str | None = None) -> dict[str, Any]:
        return await self.request("resources/templates/list", _paged(cursor))

    async def read_resource(self, uri: str) -> dict[str, Any]:
        return await self.request("resources/read", {"uri": uri})

    async def list_prompts(self, cursor: str | None = None) -> dict[str, Any]:
        return await self.request("prompts/list", _paged(cursor))

    async def get_prompt(self, name: str, arguments: dict[str, str] | None = None) -> dict[str, Any]:
        return await self.request("prompts/get", {"name": name, "arguments": arguments or {}})

    async def complete(self, ref: dict[str, Any], argument: dict[str, str],
                       context_arguments: dict[str, str] | None = None) -> dict[str, Any]:
        """``ref`` is ``{"type": "ref/prompt", "name": ...}`` or ``{"type":
        "ref/resource", "uri": ...}``; ``argument`` is ``{"name": ..., "value": ...}``."""
        params: dict[str, Any] = {"ref": ref, "argument": argument}
        if context_arguments is not None:
            params["context"] = {"arguments": context_arguments}
        return await self.request("completion/complete", params)

    async def ping(self) -> dict[str, Any]:
        """``ping`` (handshake era; the 2026-07-28 era has none: -32601)."""
        return await self.request("ping")

    async def set_logging_level(self, level: str) -> dict[str, Any]:
        """Handshake era: ``logging/setLevel``. 2026-07-28: the level later requests ask
        for in their ``_meta`` (no request is sent)."""
        return await self._connected.set_logging_level(level)

    async def subscribe_resource(self, uri: str) -> dict[str, Any]:
        return await self.request("resources/subscribe", {"uri": uri})

    async def unsubscribe_resource(self, uri: str) -> dict[str, Any]:
        return await self.request("resources/unsubscribe", {"uri": uri})


def _paged(cursor: str | None) -> dict[str, Any]:
    return {"cursor": cursor} if cursor is not None else {}
