"""One test client's link to the app: POST a JSON-RPC message through the in-process
driver and read what comes back as it streams. Notifications go to the client's
listeners; a server-to-client request (handshake era) is answered by the client's
handlers and the answer POSTed back while the call is still streaming."""

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

from ..inprocess import InProcess, messages
from ..jsoncodec import dumps
from ..protocol.errors import INTERNAL_ERROR, MCPError
from .handlers import ClientHandlers, Listener
from .wire import JSON_AND_SSE, ResponseError, error_of


class Connection:
    def __init__(self, driver: InProcess, path: str, headers: dict[str, str], handlers: ClientHandlers,
                 timeout: float | None = None) -> None:
        self.driver = driver
        self.timeout = timeout  # seconds one exchange may take (None: no limit)
        self.path = path
        self.headers = headers  # sent with every request: host, the user's own
        self.handlers = handlers
        self.notifications: list[dict[str, Any]] = []  # every notification received, in order
        self._ids = itertools.count(1)
        self._progress: dict[Any, Listener] = {}
        # Headers for a client's reply to a server request (the era's session headers).
        self.reply_headers: Callable[[], dict[str, str]] = dict

    def next_id(self) -> int:
        return next(self._ids)

    def progress_token(self, listener: Listener) -> str:
        """A token for one request's progress notifications, routed to ``listener``."""
        token = f"progress-{self.next_id()}"
        self._progress[token] = listener
        return token

    def forget(self, token: Any) -> None:
        self._progress.pop(token, None)

    async def post(self, message: dict[str, Any], headers: dict[str, str]) -> tuple[Any, int, dict[str, str]]:
        """Send one message; returns the JSON-RPC response that answers it (None for a
        notification or a reply), the HTTP status and the response headers. ``TimeoutError``
        if it takes longer than the client's timeout."""
        async with asyncio.timeout(self.timeout):
            return await self._post(message, headers)

    async def _post(self, message: dict[str, Any], headers: dict[str, str]) -> tuple[Any, int, dict[str, str]]:
        wire = {"content-type": "application/json", "accept": JSON_AND_SSE, **self.headers, **headers}
        raw = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in wire.items()]
        response = await self.driver.request("POST", self.path, raw, dumps(message))
        answer: Any = None
        failure: BaseException | None = None
        async with response:
            async for received in messages(response):
                if not isinstance(received, dict):
                    answer = received
                elif "method" not in received:
                    answer = received  # the response (or an error without an id)
                elif "id" in received:
                    failure = await self._answer(received) or failure
                else:
                    await self._notified(received)
        if failure is not None:
            raise failure  # a handler of this client failed: the test should see it
        return answer, response.status, response.headers

    async def call(self, method: str, params: dict[str, Any], headers: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
        """A request; returns its result and the response headers, or raises
        ``ResponseError`` for a JSON-RPC error (or a failure with no JSON-RPC answer)."""
        message = {"jsonrpc": "2.0", "id": self.next_id(), "method": method, "params": params}
        answer, status, response_headers = await self.post(message, headers)
        if isinstance(answer, dict) and isinstance(answer.get("result"), dict) and answer.get("id") == message["id"]:
            return answer["result"], response_headers
        if answer is None and status < 400:
            raise ResponseError(INTERNAL_ERROR, f"{method}: the response ended without an answer "
                                "(was the request cancelled?)", status=status, headers=response_headers)
        raise error_of(answer, status, response_headers)

    async def notify(self, method: str, params: dict[str, Any], headers: dict[str, str]) -> None:
        message = {"jsonrpc": "2.0", "method": method, "params": params}
        answer, status, response_headers = await self.post(message, headers)
        if status >= 400:
            raise error_of(answer, status, response_headers)

    async def _notified(self, notification: dict[str, Any]) -> None:
        self.notifications.append(notification)
        params = notification.get("params")
        params = params if isinstance(params, dict) else {}
        method = notification["method"]
        if method == "notifications/message":
            await self.handlers.log(params)
        elif method == "notifications/progress":
            listener = self._progress.get(params.get("progressToken"))
            if listener is not None:
                await ClientHandlers.report(listener, params)

    async def _answer(self, request: dict[str, Any]) -> BaseException | None:
        """Answer a server-to-client request (handshake era) and POST the answer back.
        Returns what a handler raised, once the server has its error answer."""
        params = request.get("params")
        failure: BaseException | None = None
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request["id"]}
        try:
            reply["result"] = await self.handlers.answer(str(request["method"]), params if isinstance(params, dict) else {})
        except MCPError as exc:
            reply["error"] = exc.to_error()
        except Exception as exc:
            reply["error"] = {"code": INTERNAL_ERROR, "message": f"the client's handler failed: {type(exc).__name__}"}
            failure = exc
        answer, status, response_headers = await self.post(reply, self.reply_headers())
        if status >= 400:
            return failure or error_of(answer, status, response_headers)
        return failure
