"""Outbound HTTP on Workers: an httpx transport over the platform's ``fetch``.

A Worker cannot open sockets the way httpx's own transport does; ``fetch`` is how it talks
to other servers (the core deployment of a split app, a router's upstreams). The router
code stays the same on every host: only the transport differs. The response body streams
as it arrives, and closing it (the caller went away, or the call was cancelled) aborts the
fetch, so the cancellation reaches the server on the other side.

``js`` and ``pyodide`` exist only inside a Worker, so they are imported in the methods.
"""

from collections.abc import AsyncIterator
from typing import Any

import httpx

from .runtime import _js_headers, _uint8, settled


class FetchStream(httpx.AsyncByteStream):
    def __init__(self, body: Any, controller: Any) -> None:
        self.body = body
        self.controller = controller

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.body is None or type(self.body).__name__ == "JsNull":
            return
        reader = self.body.getReader()
        while True:
            read, step = await settled(reader.read())
            if not read:
                raise httpx.ReadError("the response stream failed")
            if step.done:
                return
            yield bytes(step.value.to_bytes())

    async def aclose(self) -> None:
        self.controller.abort()  # a no-op once the body was read to its end


class FetchTransport(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        from js import AbortController, Object, fetch
        from pyodide.ffi import to_js

        body = await request.aread()
        controller = AbortController.new()
        init = to_js({
            "method": request.method,
            "headers": _js_headers([(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]),
            "body": _uint8(body) if body else None,
            "signal": controller.signal,
            "redirect": "manual",
        }, dict_converter=Object.fromEntries)
        fetched, response = await settled(fetch(str(request.url), init))
        if not fetched:
            raise httpx.ConnectError(f"fetch failed for {request.url.host}", request=request)
        headers = [(str(pair[0]), str(pair[1])) for pair in response.headers.entries()]
        return httpx.Response(int(response.status), headers=headers,
                              stream=FetchStream(response.body, controller), request=request)
