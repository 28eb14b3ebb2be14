"""What the commands share: loading ``module:attr``, choosing and naming the store, and
saying things in one line.

A user's mistake (a module that does not import, a store that is down, a URL that does not
answer) is a ``UsageError`` or one of the exceptions ``edgemcp.cli.main`` catches: one line
on stderr and exit 2, never a traceback.
"""

import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..targets import TargetError, import_target

# The dev server's own state, beside the project: its store and its secret.
DEV_DIR = ".edgemcp"
DEV_DB = "dev.db"
DEV_SECRET = "dev-secret"


class UsageError(Exception):
    """Something the user must fix: one line on stderr, exit 2."""


def one_line(text: object) -> str:
    """``text`` on one line, whatever it carried (a server's or a library's message)."""
    return " ".join(str(text).split())


def project_root() -> Path:
    """The project the command runs in: the working directory, as ``edgemcp dev`` serves
    ``module:app`` from it."""
    return Path.cwd()


def load_target(target: str) -> Any:
    """The object ``module:attribute`` (default attribute ``app``) names, imported from the
    project; a module that does not import or lacks the attribute is a ``UsageError``.
    (An exception the module itself raises while importing is its own bug: it propagates.)"""
    try:
        return import_target(target)
    except TargetError as exc:
        raise UsageError(str(exc)) from None


def load_app(target: str) -> Any:
    """The ``EdgeMCP`` app ``module:attribute`` names."""
    app = load_target(target)
    if not (hasattr(app, "tools") and hasattr(app, "name") and hasattr(app, "asgi")):
        raise UsageError(f"{target} is a {type(app).__name__}, not an EdgeMCP app")
    return app


def dev_store_url(root: Path | None = None) -> str:
    """The dev server's default store: a SQLite file under the project's ``.edgemcp/``."""
    path = ((root or project_root()) / DEV_DIR / DEV_DB).resolve()
    return f"sqlite:///{path}"  # an absolute path: sqlite:////home/...


def resolve_store(given: str | None) -> str:
    """The store a command acts on: ``--store``, else ``$EDGEMCP_STORE``, else the dev
    server's store when this project has one (``edgemcp dev`` made it)."""
    if given:
        return given
    configured = os.environ.get("EDGEMCP_STORE")
    if configured:
        return configured
    if (project_root() / DEV_DIR / DEV_DB).exists():
        return dev_store_url()
    raise UsageError(f"no store: give --store URL or set EDGEMCP_STORE (no dev server store at "
                     f"{DEV_DIR}/{DEV_DB} in {project_root()})")


def refuse_memory(url: str) -> None:
    """A memory store here would be this process's own, gone when it exits: nothing done
    there reaches a server, so saying "done" would be false."""
    if urlsplit(url).scheme == "memory":
        raise UsageError("memory:// is this command's own throwaway store: nothing written there "
                         "reaches a server. Name the server's store with --store (redis://..., "
                         "sqlite:///...) or EDGEMCP_STORE")


def shown(url: str) -> str:
    """A store URL as it may be printed: without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}@{host}" if user else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def human_time(epoch: object) -> str:
    """Seconds since the epoch as ISO 8601 UTC (``2026-12-04T10:00:00Z``), or ``?``."""
    if not isinstance(epoch, int | float) or isinstance(epoch, bool):
        return "?"
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
