"""Host and Origin validation against DNS rebinding.

Secure by default: with nothing configured, only loopback hosts and origins are accepted,
which is what a local dev server needs. A deployment lists its own hostnames (or sets
``EDGEMCP_ALLOWED_HOSTS`` / ``EDGEMCP_ALLOWED_ORIGINS``, comma-separated).
"""

import os
from functools import lru_cache
from urllib.parse import urlsplit

LOOPBACK = ("localhost", "127.0.0.1", "[::1]", "::1")


def _from_env(name: str) -> list[str] | None:
    value = os.environ.get(name)
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _split_host(value: str) -> tuple[str, str | None]:
    value = value.strip().lower()
    if value.startswith("["):  # [::1]:8000
        end = value.find("]")
        host, rest = value[: end + 1], value[end + 1 :]
        return host, rest[1:] if rest.startswith(":") else None
    host, _, port = value.partition(":")
    return host, port or None


class OriginGuard:
    def __init__(self, allowed_hosts: list[str] | None, allowed_origins: list[str] | None) -> None:
        hosts = allowed_hosts if allowed_hosts is not None else _from_env("EDGEMCP_ALLOWED_HOSTS")
        origins = (
            allowed_origins if allowed_origins is not None else _from_env("EDGEMCP_ALLOWED_ORIGINS")
        )
        self.any_host = hosts is not None and "*" in hosts
        self.any_origin = origins is not None and "*" in origins
        self.hosts = {_split_host(h) for h in (hosts or LOOPBACK)}
        self.origins = {o.rstrip("/").lower() for o in (origins or ())}
        # Without configured origins, browsers may only come from a loopback page.
        self.loopback_origins = origins is None
        # A client sends the same Host and Origin on every request: remember the verdicts.
        self.host_ok = lru_cache(maxsize=256)(self.host_ok)  # type: ignore[method-assign]
        self.origin_ok = lru_cache(maxsize=256)(self.origin_ok)  # type: ignore[method-assign]

    def host_ok(self, host: str | None) -> bool:
        if self.any_host:
            return True
        if not host:
            return False
        name, port = _split_host(host)
        return (name, port) in self.hosts or (name, None) in self.hosts

    def origin_ok(self, origin: str | None) -> bool:
        if origin is None or self.any_origin:
            return True
        origin = origin.rstrip("/").lower()
        if origin in self.origins:
            return True
        if self.loopback_origins:
            parts = urlsplit(origin)
            return parts.scheme in ("http", "https") and (parts.hostname or "") in (
                "localhost", "127.0.0.1", "::1",
            )
        return False
