"""Outbound HTTP on Workers: the router's ``Outbound`` over the platform's ``fetch``.

A Worker cannot open sockets; ``fetch`` is how it talks to other servers (the core
deployment of a split app, a router's upstreams). The router code is the same on every
host: only this small transport differs. The response body streams as it arrives, and
letting go of it early (the caller went away, or the call was cancelled) aborts the fetch,
so the cancellation reaches the server on the other side.

``js`` and ``pyodide`` exist only inside a Worker, so they are imported in the methods.
"""

from collections.abc import AsyncIterator, Mapping
from typing import Any

from .runtime import _js_headers, _uint8, settled


class FetchResponse:
    def __init__(self, response: Any, controller: Any) -> None:
        self.status = int(response.status)
        self.headers = {str(pair[0]).lower(): str(pair[1]) for pair in response.headers.entries()}
        self._body = response.body
        self._controller = controller
        self._done = False

    async def chunks(self) -> AsyncIterator[bytes]:
        if self._body is None or type(self._body).__name__ == "JsNull":
            self._done = True
            return
        reader = self._body.getReader()
        while True:
            read, step = await settled(reader.read())
            if not read:
                raise OSError("the response stream failed")
            if step.done:
                self._done = True
                return
            yield bytes(step.value.to_bytes())

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.chunks()])

    async def aclose(self) -> None:
        if not self._done:
            self._controller.abort()


class FetchOutbound:
    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> FetchResponse:
        from js import AbortController, Object, fetch
        from pyodide.ffi import to_js

        controller = AbortController.new()
        init = to_js({
            "method": "POST",
            "headers": _js_headers(list(headers.items())),
            "body": _uint8(body),
            "signal": controller.signal,
            "redirect": "manual",
        }, dict_converter=Object.fromEntries)
        fetched, response = await settled(fetch(url, init))
        if not fetched:
            raise ConnectionError("fetch failed")
        return FetchResponse(response, controller)

    async def aclose(self) -> None:
        return None
