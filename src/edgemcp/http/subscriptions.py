"""Handshake-era resource subscriptions, kept on the session record so that the
session's GET stream, on any replica, delivers ``notifications/resources/updated`` for
the URIs it subscribed to (http/stream.py)."""

from ..protocol.errors import invalid_params
from ..runtime import Runtime
from ..state.sessions import Session

MAX_SUBSCRIPTIONS = 256  # per session: the record stays small


async def remember(runtime: Runtime, session: Session, method: str, uri: str) -> None:
    """Record a successful resources/subscribe or resources/unsubscribe."""
    if method == "resources/unsubscribe":
        if session.subscriptions.pop(uri, None) is None:
            return
    else:
        if uri not in session.subscriptions and len(session.subscriptions) >= MAX_SUBSCRIPTIONS:
            raise invalid_params(f"Too many resource subscriptions: a session may hold {MAX_SUBSCRIPTIONS}")
        # Updates count from here on: a stream resumed later replays only those after this.
        session.subscriptions[uri] = (await runtime.events.changes()).head if runtime.events else 0
    await runtime.sessions.save(session)
