"""The client side's answers: what a test client does when the server asks it something
(elicitation, sampling, roots) or tells it something (log messages, progress).

Every handler gets the request's or notification's ``params`` (a dict) and, for a
request, returns the result dict; sync or async. The same handlers answer a handshake-era
server-to-client request and a 2026-07-28 ``input_required`` round (MRTR).
"""

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from ..protocol.errors import METHOD_NOT_FOUND, MCPError

Handler = Callable[[dict[str, Any]], "dict[str, Any] | Awaitable[dict[str, Any]]"]
Listener = Callable[[dict[str, Any]], "Awaitable[None] | None"]


async def _call(handler: Callable[[dict[str, Any]], Any], params: dict[str, Any]) -> Any:
    outcome = handler(params)
    if inspect.isawaitable(outcome):
        outcome = await outcome
    return outcome


def _roots_handler(roots: "Sequence[str | dict[str, Any]] | Handler") -> Handler:
    if callable(roots):
        return roots
    listed = [{"uri": root} if isinstance(root, str) else dict(root) for root in roots]

    def answer(params: dict[str, Any]) -> dict[str, Any]:
        return {"roots": [dict(root) for root in listed]}

    return answer


class ClientHandlers:
    def __init__(self, *, elicitation: Handler | None = None, sampling: Handler | None = None,
                 roots: "Sequence[str | dict[str, Any]] | Handler | None" = None,
                 logging: Listener | None = None, progress: Listener | None = None) -> None:
        self.requests: dict[str, Handler] = {}
        if elicitation is not None:
            self.requests["elicitation/create"] = elicitation
        if sampling is not None:
            self.requests["sampling/createMessage"] = sampling
        if roots is not None:
            self.requests["roots/list"] = _roots_handler(roots)
        self.logging = logging
        self.progress = progress

    def capabilities(self) -> dict[str, Any]:
        """What the client declares: a capability for each request it can answer."""
        caps: dict[str, Any] = {}
        if "elicitation/create" in self.requests:
            caps["elicitation"] = {}
        if "sampling/createMessage" in self.requests:
            caps["sampling"] = {}
        if "roots/list" in self.requests:
            caps["roots"] = {}
        return caps

    async def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """The result for a server's request; ``MCPError`` (-32601) if no handler takes it.
        Whatever a handler raises goes to the caller."""
        if method == "ping":
            return {}
        handler = self.requests.get(method)
        if handler is None:
            raise MCPError(METHOD_NOT_FOUND, f"Method not found: this client has no handler for {method}")
        result = await _call(handler, params)
        if not isinstance(result, dict):
            raise TypeError(f"the {method} handler returned {type(result).__name__}, not a result dict")
        return result

    async def log(self, params: dict[str, Any]) -> None:
        if self.logging is not None:
            await _call(self.logging, params)

    @staticmethod
    async def report(listener: Listener, params: dict[str, Any]) -> None:
        await _call(listener, params)
