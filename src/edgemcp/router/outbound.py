"""The router's one HTTP client: created once per runtime, keep-alive to every upstream.
On ASGI hosts httpx's own transport; on Cloudflare Workers a transport over the
platform's ``fetch`` (``edgemcp.cloudflare.fetch``)."""

import httpx

CONNECT_TIMEOUT = 5.0  # seconds; a whole call's deadline is the upstream's timeout


def http_client(transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    # trust_env=False: no proxy or netrc settings from the environment reach upstream calls.
    return httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(None, connect=CONNECT_TIMEOUT),
                             limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
                             follow_redirects=False, trust_env=False)
