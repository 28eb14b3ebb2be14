"""Configuration from a Worker's env: secrets and vars, and stores over bindings.

| env name | kind | meaning |
|---|---|---|
| ``EDGEMCP_SECRET`` | secret | signs session ids and sealed request state; required |
| ``EDGEMCP_STORE`` | var | the store, naming a binding: ``kv://EDGEMCP_KV`` (default) or ``durable://EDGEMCP_DO`` |
| ``EDGEMCP_EXACT_STORE`` | var | optional exact store for replies, cancellations, rate limits, idempotency and kill switches, e.g. ``durable://EDGEMCP_DO`` |
| ``EDGEMCP_ALLOWED_HOSTS`` / ``EDGEMCP_ALLOWED_ORIGINS`` | var | comma-separated, as on any host |
| ``EDGEMCP_ROLE`` / ``EDGEMCP_CORE_URL`` | var | ``edge``: forward core-placed tools to the core deployment at that URL (through ``fetch``) |
| ``EDGEMCP_HOP_SECRET`` | secret | optional key for identity assertions to the core (default: derived from ``EDGEMCP_SECRET``) |

Nothing here runs at import time: env exists only inside a request.
"""

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..runtime import ConfigurationError
from ..settings import Role
from ..store import MemoryStore, Store
from ..store.durable import DurableObjectStore
from ..store.kv import WorkersKVStore
from ..store.split import SplitStore

DEFAULT_STORE = "kv://EDGEMCP_KV"


def env_text(env: Any, name: str) -> str | None:
    """A secret or var as text; None when unset (JS undefined or null)."""
    value = getattr(env, name, None)
    if value is None or type(value).__name__ in ("JsNull", "JsUndefined"):
        return None
    return value if isinstance(value, str) else None


def env_list(env: Any, name: str) -> list[str] | None:
    value = env_text(env, name)
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def binding_store(url: str, env: Any) -> Store:
    """A store for ``kv://BINDING``, ``durable://BINDING[?shards=N]`` or ``memory://``
    (one isolate only: for trying things out, never for sessions across isolates)."""
    parts = urlsplit(url)
    if parts.scheme == "memory":
        return MemoryStore()
    if parts.scheme not in ("kv", "durable"):
        raise ConfigurationError(f"store URL {url!r}: expected kv://BINDING or durable://BINDING")
    name = parts.netloc
    binding = getattr(env, name, None) if name else None
    if binding is None:
        raise ConfigurationError(
            f"store URL {url!r} names the binding {name!r}, but the Worker has no such binding: "
            "declare it in wrangler.toml"
        )
    if parts.scheme == "kv":
        return WorkersKVStore(binding)
    shards = parse_qs(parts.query).get("shards", ["1"])[0]
    if not shards.isdigit() or int(shards) < 1:
        raise ConfigurationError(f"store URL {url!r}: shards must be a positive whole number")
    return DurableObjectStore(binding, shards=int(shards))


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """What a Worker's env says; compared per request so a changed secret takes effect."""

    secret: str
    store: str
    exact_store: str | None
    allowed_hosts: tuple[str, ...] | None
    allowed_origins: tuple[str, ...] | None
    role: Role | None = None  # a split app's edge forwards core tools to core_url
    core_url: str | None = None
    hop_secret: str | None = None

    @classmethod
    def from_env(cls, env: Any) -> "WorkerSettings":
        secret = env_text(env, "EDGEMCP_SECRET")
        if not secret:
            # Never a random per-isolate secret: sessions would break across isolates.
            raise ConfigurationError(
                "EDGEMCP_SECRET is not set: add it as a Worker secret "
                "(npx wrangler secret put EDGEMCP_SECRET)"
            )
        hosts = env_list(env, "EDGEMCP_ALLOWED_HOSTS")
        origins = env_list(env, "EDGEMCP_ALLOWED_ORIGINS")
        role = env_text(env, "EDGEMCP_ROLE")
        if role is not None and role not in ("all", "edge", "core"):
            raise ConfigurationError(f"EDGEMCP_ROLE={role!r}: expected all, edge or core")
        return cls(
            secret=secret,
            store=env_text(env, "EDGEMCP_STORE") or DEFAULT_STORE,
            exact_store=env_text(env, "EDGEMCP_EXACT_STORE"),
            allowed_hosts=tuple(hosts) if hosts is not None else None,
            allowed_origins=tuple(origins) if origins is not None else None,
            role=role,  # type: ignore[arg-type]
            core_url=env_text(env, "EDGEMCP_CORE_URL"),
            hop_secret=env_text(env, "EDGEMCP_HOP_SECRET"),
        )

    def open_store(self, env: Any) -> Store:
        store = binding_store(self.store, env)
        if self.exact_store:
            return SplitStore(store, binding_store(self.exact_store, env))
        return store
