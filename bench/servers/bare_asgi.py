"""Raw ASGI: no framework at all. Reads the body, ``json.loads``, dispatches, ``json.dumps``;
the same result shape as edgemcp and bare Starlette."""

import json

from ._bare import MODERN, dispatch, new_session_id

_JSON_HEADERS = [(b"content-type", b"application/json")]
_MODERN = MODERN.encode()


async def asgi(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] == "lifespan":
        while True:
            event = await receive()
            if event["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif event["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["path"] != "/mcp" or scope["method"] != "POST":
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    body = b""
    while True:
        event = await receive()
        body += event.get("body", b"")
        if not event.get("more_body"):
            break
    message = json.loads(body)
    if "id" not in message:
        await send({"type": "http.response.start", "status": 202, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    modern = False
    for key, value in scope["headers"]:
        if key == b"mcp-protocol-version":
            modern = value == _MODERN
            break
    payload = json.dumps(dispatch(message, modern), separators=(",", ":")).encode()
    headers = [*_JSON_HEADERS, (b"content-length", str(len(payload)).encode())]
    if message.get("method") == "initialize":
        headers.append((b"mcp-session-id", new_session_id().encode()))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
