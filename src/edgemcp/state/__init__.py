"""State that outlives a request, kept in the store: handshake-era sessions, messages from
one replica to a call waiting on another, and sealed MRTR request state."""

from .mailbox import Mailbox
from .request_state import RequestStateSealer
from .sessions import Session, Sessions

__all__ = ["Mailbox", "RequestStateSealer", "Session", "Sessions"]
