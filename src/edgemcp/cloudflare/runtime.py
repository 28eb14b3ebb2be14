"""The JavaScript side of the bridge: only ever imported inside a Worker (Pyodide).

``js`` and ``pyodide`` exist only there, so they are imported inside functions and this
module stays importable (and type-checkable) under CPython.
"""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from .bridge import Headers, StreamWriter


def _uint8(data: bytes) -> Any:
    from js import Uint8Array

    array = Uint8Array.new(len(data))
    array.assign(data)
    return array


def _js_headers(headers: Headers) -> Any:
    from js import Headers as JSHeaders

    js_headers = JSHeaders.new()
    for name, value in headers:
        js_headers.append(name, value)  # append keeps repeated names (Set-Cookie)
    return js_headers


async def settled(promise: Any) -> tuple[bool, Any]:
    """``(True, value)`` or ``(False, reason)``. A JS promise may reject with anything
    (``undefined`` when a stream is cancelled without a reason), which Pyodide cannot
    raise as a Python exception; settling it here never leaves an ``await`` hanging."""
    outcome: tuple[bool, Any] = await promise.then(lambda value: (True, value), lambda reason: (False, reason))
    return outcome


class JSStreamWriter:
    """Writes to the writable side of a TransformStream whose readable side is the body."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer

    async def write(self, chunk: bytes) -> None:
        written, _ = await settled(self.writer.write(_uint8(chunk)))
        if not written:
            raise OSError("the response stream is closed: the client went away")

    async def close(self) -> None:
        # close() settles only once a reader took every chunk; do not hold the app for it.
        task = asyncio.ensure_future(settled(self.writer.close()))
        _closing.add(task)
        task.add_done_callback(_closing.discard)


_closing: set["asyncio.Future[tuple[bool, Any]]"] = set()


class JSPlatform:
    """Builds workerd's ``Response`` objects."""

    def respond(self, status: int, headers: Headers, body: bytes | None) -> Any:
        from js import Response

        return Response.new(_uint8(body) if body is not None else None,
                            status=status, headers=_js_headers(headers))

    def stream(self, status: int, headers: Headers) -> tuple[Any, StreamWriter]:
        from js import Response, TransformStream

        pipe = TransformStream.new()
        response = Response.new(pipe.readable, status=status, headers=_js_headers(headers))
        return response, JSStreamWriter(pipe.writable.getWriter())


def js_request(request: Any) -> Any:
    """The JS Request behind a ``workers.Request`` (or the JS Request itself)."""
    return getattr(request, "js_object", request)


def request_headers(request: Any) -> list[tuple[str, str]]:
    return [(str(pair[0]), str(pair[1])) for pair in request.headers.entries()]


def request_cf(request: Any) -> dict[str, Any]:
    cf = getattr(request, "cf", None)
    if cf is None or not hasattr(cf, "to_py"):
        return {}
    converted = cf.to_py()
    return dict(converted) if isinstance(converted, dict) else {}


async def request_body(request: Any) -> AsyncIterator[bytes]:
    stream = request.body
    if stream is None or type(stream).__name__ == "JsNull":
        return
    reader = stream.getReader()
    while True:
        read, step = await settled(reader.read())
        if not read:
            raise OSError("the request body failed: the client went away")
        if step.done:
            return
        yield bytes(step.value.to_bytes())


def on_abort(request: Any, callback: Any) -> None:
    """Call ``callback`` when the client aborts (workerd: ``enable_request_signal``)."""
    from pyodide.ffi import create_once_callable

    signal = getattr(request, "signal", None)
    if signal is None:
        return
    if signal.aborted:
        callback()
        return
    signal.addEventListener("abort", create_once_callable(lambda *_: callback()))


def keep_alive(ctx: Any, task: "asyncio.Future[None]") -> None:
    """Tell the runtime the request's work goes on after the response head (streaming)."""
    from js import Promise
    from pyodide.ffi import create_once_callable

    wait_until = getattr(ctx, "waitUntil", None)
    if wait_until is None:
        return

    def settle_with_task(resolve: Any, reject: Any) -> None:
        task.add_done_callback(lambda _: resolve())  # the task logs its own failures

    wait_until(Promise.new(create_once_callable(settle_with_task)))
