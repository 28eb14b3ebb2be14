"""A router from the command line and the environment, like an app: ``EDGEMCP_STORE``,
``EDGEMCP_SECRET``, ``EDGEMCP_TOKENS`` (callers' bearer tokens), ``EDGEMCP_RATE_LIMIT`` (per
agent), and per upstream ``EDGEMCP_UPSTREAM_<NAME>_TOKEN`` (a bearer token the router sends
it) or ``..._CLIENT_ID`` / ``..._CLIENT_SECRET`` / ``..._TOKEN_URL`` [/ ``..._SCOPE``]
(OAuth client credentials)."""

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..guards.identity import BearerTokens
from .credentials import BearerToken, ClientCredentials, Credentials
from .router import Router, parse_upstream
from .upstream import Upstream


def pairs(specs: Sequence[str], what: str) -> dict[str, str]:
    """``KEY=VALUE`` specs as a dict (the first ``=`` splits)."""
    found: dict[str, str] = {}
    for spec in specs:
        key, sep, value = spec.partition("=")
        if not sep or not key or not value:
            raise ValueError(f"{what} {spec!r}: expected KEY=VALUE")
        found[key.strip()] = value.strip()
    return found


def credentials_from_env(name: str, environ: Mapping[str, str]) -> Credentials | None:
    prefix = "EDGEMCP_UPSTREAM_" + name.upper().replace("-", "_") + "_"
    token = environ.get(prefix + "TOKEN")
    if token:
        return BearerToken(token)
    client_id, client_secret = environ.get(prefix + "CLIENT_ID"), environ.get(prefix + "CLIENT_SECRET")
    token_url = environ.get(prefix + "TOKEN_URL")
    if client_id or client_secret or token_url:
        if not (client_id and client_secret and token_url):
            raise ValueError(f"upstream {name}: {prefix}CLIENT_ID, {prefix}CLIENT_SECRET and "
                             f"{prefix}TOKEN_URL go together")
        return ClientCredentials(token_url=token_url, client_id=client_id, client_secret=client_secret,
                                 scope=environ.get(prefix + "SCOPE"), cache_key=name)
    return None


def build_router(upstreams: Sequence[str], *, routes: Sequence[str] = (), prefixes: Sequence[str] = (),
                 fail_closed: Sequence[str] = (), timeout: float | None = None,
                 environ: Mapping[str, str] | None = None) -> Router:
    environ = os.environ if environ is None else environ
    parsed = [parse_upstream(spec) for spec in upstreams]
    prefix_of = pairs(prefixes, "prefix")
    names = {u.name for u in parsed}
    for name in [*prefix_of, *fail_closed]:
        if name not in names:
            raise ValueError(f"no upstream named {name!r}")
    configured: list[Upstream] = []
    for upstream in parsed:
        changes: dict[str, Any] = {"prefix": prefix_of.get(upstream.name, ""),
                                   "credentials": credentials_from_env(upstream.name, environ)}
        if upstream.name in fail_closed:
            changes["failure"] = "closed"
        if timeout is not None:
            changes["timeout"] = timeout
        configured.append(replace(upstream, **changes))
    options: dict[str, Any] = {}
    if environ.get("EDGEMCP_TOKENS"):
        options["auth"] = BearerTokens.from_env("EDGEMCP_TOKENS")
    if environ.get("EDGEMCP_RATE_LIMIT"):
        options["rate_limit"] = environ["EDGEMCP_RATE_LIMIT"]
    return Router(environ.get("EDGEMCP_ROUTER_NAME", "edgemcp-router"), upstreams=configured,
                  routes=pairs(routes, "route"), **options)
