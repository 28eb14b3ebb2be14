"""The context a tool, resource or prompt function may ask for by annotating a parameter.

``Context`` hides which era the client speaks. Asking the client for input is one call,
``await ctx.ask(...)`` (or ``elicit``/``sample``/``list_roots``):

- handshake era: a real server-to-client request goes out on the request's SSE stream and
  the reply comes back through the key-value store, on whichever replica it lands;
- 2026-07-28: the call ends with an ``input_required`` result (MRTR); when the client
  retries with the answers, the function runs again from the top and this time ``ask``
  returns them. Answers from earlier rounds and ``ctx.state`` travel sealed in
  ``requestState``, so any replica can serve the next round.
"""

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from .errors import missing_capability
from .principal import Principal
from .request import RequestInfo
from .versions import Era

log = logging.getLogger("edgemcp")

LogLevel = Literal["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]
LOG_LEVELS: tuple[str, ...] = (
    "debug", "info", "notice", "warning", "error", "critical", "alert", "emergency",
)


# A ``ctx.on_cancel`` callback: a plain function or a coroutine function, no arguments.
CancelCallback = Callable[[], object]


class Channel(Protocol):
    """A running call's link to its client: where its notifications and handshake-era
    server-to-client requests go, and what hears that the client cancelled it. The HTTP
    edge's response stream for a request, the task runner's record for a task; the
    protocol core never touches HTTP or the store itself."""

    async def notify(self, method: str, params: dict[str, Any]) -> None: ...

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]: ...

    def on_cancel(self, callback: CancelCallback) -> None:
        """Run ``callback`` if the client cancels the call (see ``CancelCallbacks``)."""
        ...


class CancelCallbacks:
    """The ``ctx.on_cancel`` callbacks of one call. Whoever learns that the client
    cancelled (the HTTP edge, the task runner) runs them once, after the call's own
    ``CancelledError`` unwound, so a tool can stop work it started elsewhere."""

    def __init__(self) -> None:
        self.callbacks: list[CancelCallback] = []
        self.ran = False

    def add(self, callback: CancelCallback) -> None:
        self.callbacks.append(callback)

    async def run(self) -> None:
        if self.ran:
            return
        self.ran = True
        for callback in self.callbacks:
            try:
                outcome = callback()
                if hasattr(outcome, "__await__"):
                    await outcome
            except Exception as exc:  # one failing callback must not keep the others from running
                log.error("an on_cancel callback raised %s", type(exc).__name__)


# ----- input requests (elicitation, sampling, roots) --------------------------------------


@dataclass(frozen=True, slots=True)
class InputRequest:
    method: str
    params: dict[str, Any]
    capability: str

    def wire(self) -> dict[str, Any]:
        return {"method": self.method, "params": self.params}


def elicitation(message: str, schema: Mapping[str, Any] | type) -> InputRequest:
    """Ask the user to fill a form. ``schema`` is a flat JSON Schema object or a pydantic model."""
    requested = _schema_of(schema)
    return InputRequest(
        "elicitation/create",
        {"mode": "form", "message": message, "requestedSchema": requested},
        "elicitation",
    )


def sampling(
    prompt: str | list[dict[str, Any]],
    *,
    max_tokens: int,
    system_prompt: str | None = None,
    **params: Any,
) -> InputRequest:
    """Ask the client's model for a completion."""
    messages = (
        [{"role": "user", "content": {"type": "text", "text": prompt}}]
        if isinstance(prompt, str)
        else prompt
    )
    body: dict[str, Any] = {"messages": messages, "maxTokens": max_tokens, **params}
    if system_prompt is not None:
        body["systemPrompt"] = system_prompt
    return InputRequest("sampling/createMessage", body, "sampling")


def roots() -> InputRequest:
    """Ask the client for its filesystem roots."""
    return InputRequest("roots/list", {}, "roots")


def _schema_of(schema: Mapping[str, Any] | type) -> dict[str, Any]:
    if isinstance(schema, type):
        from pydantic import TypeAdapter

        generated = TypeAdapter(schema).json_schema()
        generated.pop("title", None)
        return generated
    return dict(schema)


class InputRequired(Exception):
    """Raised by ``Context.ask`` in the 2026-07-28 era; the core turns it into MRTR (or,
    inside a task, the task runner into an ``input_required`` task)."""

    def __init__(self, requests: dict[str, InputRequest]) -> None:
        super().__init__("input required")
        self.requests = requests


class StartTask(Exception):
    """Raised by ``Context.start_task`` when the call may become a task: the services stop
    this run and start the call again, from the top, as a task, with the answers and
    state gathered so far."""

    def __init__(self, answers: dict[str, Any], state: dict[str, Any]) -> None:
        super().__init__("start task")
        self.answers = answers
        self.state = state


# ----- the context -----------------------------------------------------------------------


class Context:
    """Per-call context. Annotate a parameter with ``Context`` to receive it."""

    def __init__(
        self,
        info: RequestInfo,
        channel: Channel,
        *,
        request_id: Any = None,
        progress_token: Any = None,
        answers: dict[str, Any] | None = None,
        state: dict[str, Any] | None = None,
        dry_run: bool = False,
        meta: dict[str, Any] | None = None,
        task_id: str | None = None,
        may_start_task: bool = False,
    ) -> None:
        self.request = info
        self.meta: dict[str, Any] = meta if meta is not None else {}  # the request's own _meta
        self.dry_run = dry_run  # the client asked for a dry run: change nothing
        self.task_id = task_id  # set when the call runs as a task (the tasks extension)
        self._may_start_task = may_start_task
        self.request_id = request_id
        self.state: dict[str, Any] = state if state is not None else {}
        self.answers: dict[str, Any] = answers if answers is not None else {}
        self._channel = channel
        self._progress_token = progress_token
        self._asked = 0
        # How the call failed when its isError result does not tell (for the operator's
        # audit record and span): "invalid-arguments", or the exception's type.
        self.failure: str | None = None

    # -- identity and client -----------------------------------------------------------
    @property
    def principal(self) -> Principal:
        return self.request.principal

    @property
    def era(self) -> Era:
        return self.request.era

    @property
    def protocol_version(self) -> str:
        return self.request.protocol_version

    @property
    def client_info(self) -> dict[str, Any] | None:
        return self.request.client_info

    def client_supports(self, capability: str) -> bool:
        return capability in self.request.client_capabilities

    # -- notifications -----------------------------------------------------------------
    @property
    def progress_token(self) -> Any:
        """The client's progress token for this request, if it sent one."""
        return self._progress_token

    async def notify(self, method: str, params: dict[str, Any]) -> None:
        """Send any notification on this request's stream (what ``progress`` and ``log``
        do underneath; a gateway relays an upstream's notifications with it)."""
        await self._channel.notify(method, params)

    async def progress(
        self, progress: float, total: float | None = None, message: str | None = None
    ) -> None:
        """Report progress; a no-op unless the client sent a progress token."""
        if self._progress_token is None:
            return
        params: dict[str, Any] = {"progressToken": self._progress_token, "progress": progress}
        if total is not None:
            params["total"] = total
        if message is not None:
            params["message"] = message
        await self._channel.notify("notifications/progress", params)

    async def log(self, level: LogLevel, data: Any, *, logger: str | None = None) -> None:
        """Send a log message to the client, if it asked for this level or above."""
        floor = self.request.log_level
        if floor is None or LOG_LEVELS.index(level) < LOG_LEVELS.index(floor):
            return
        params: dict[str, Any] = {"level": level, "data": data}
        if logger is not None:
            params["logger"] = logger
        await self._channel.notify("notifications/message", params)

    async def debug(self, data: Any) -> None:
        await self.log("debug", data)

    async def info(self, data: Any) -> None:
        await self.log("info", data)

    async def warning(self, data: Any) -> None:
        await self.log("warning", data)

    async def error(self, data: Any) -> None:
        await self.log("error", data)

    # -- cancellation and tasks --------------------------------------------------------
    def on_cancel(self, callback: CancelCallback) -> None:
        """Call ``callback`` (a function or a coroutine function, no arguments) if the
        client cancels this call, on whichever replica the cancellation lands: stop a job
        this call started on another service. The call itself sees ``CancelledError`` at
        its current ``await``; callbacks run after that unwound."""
        self._channel.on_cancel(callback)

    async def start_task(self) -> bool:
        """For a tool declared with ``task_start="explicit"``: from here on, run as a task
        (the client gets a task handle now and polls for the result). What came before,
        such as asking the client for input, happens synchronously; the task runs the
        function again from the top with those answers, so keep that part to asking and
        checking. Returns True inside the task, False where the call cannot become a task
        (the client did not declare the tasks extension, or the tool is not declared
        that way): then the call simply goes on."""
        if self.task_id is not None:
            return True
        if self._may_start_task:
            raise StartTask(self.answers, self.state)
        return False

    # -- asking the client for input ---------------------------------------------------
    async def ask(self, requests: Mapping[str, InputRequest]) -> dict[str, Any]:
        """Ask the client for several inputs at once; returns the results by key.

        Raises ``MCPError`` (-32021) if the client did not declare a capability it needs:
        check ``client_supports`` first to degrade gracefully.
        """
        lacking: dict[str, Any] = {r.capability: {} for r in requests.values() if not self.client_supports(r.capability)}
        if lacking:
            raise missing_capability(lacking)
        missing = {key: r for key, r in requests.items() if key not in self.answers}
        if missing and self.request.era == "modern":
            raise InputRequired(missing)
        for key, request in missing.items():
            self.answers[key] = await self._channel.request(request.method, request.params)
        return {key: self.answers[key] for key in requests}

    async def _ask_one(self, request: InputRequest, key: str | None) -> dict[str, Any]:
        if key is None:
            self._asked += 1
            key = f"{request.method.split('/')[0]}-{self._asked}"
        answers = await self.ask({key: request})
        result: dict[str, Any] = answers[key]
        return result

    async def elicit(
        self, message: str, schema: Mapping[str, Any] | type, *, key: str | None = None
    ) -> dict[str, Any]:
        """Ask the user; returns the ElicitResult (``action`` and, if accepted, ``content``)."""
        return await self._ask_one(elicitation(message, schema), key)

    async def sample(
        self,
        prompt: str | list[dict[str, Any]],
        *,
        max_tokens: int,
        key: str | None = None,
        **params: Any,
    ) -> dict[str, Any]:
        """Ask the client's model; returns the CreateMessageResult."""
        return await self._ask_one(sampling(prompt, max_tokens=max_tokens, **params), key)

    async def list_roots(self, *, key: str | None = None) -> list[dict[str, Any]]:
        result = await self._ask_one(roots(), key)
        listed: list[dict[str, Any]] = result.get("roots", [])
        return listed
