"""Handshake-era sessions: a signed id in ``Mcp-Session-Id`` and a record in the store.

The signature means a forged or tampered id is refused before any store lookup; the
record (version, client info, capabilities, log level, principal, resource
subscriptions) lets any replica serve the session. Its TTL slides, refreshed once half
of it has passed so that most requests cost one read and no write.
"""

import hashlib
import hmac
import secrets
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

from itsdangerous import BadSignature, Signer

from ..store import Keyspace


@dataclass(slots=True)
class Session:
    id: str
    protocol_version: str
    client_capabilities: dict[str, Any] = field(default_factory=dict)
    client_info: dict[str, Any] | None = None
    log_level: str | None = None
    principal: str = ""
    refreshed_at: float = 0.0
    # resources/subscribe: each URI with the change-log seq at the time (state/events.py),
    # so a resumed stream replays only the updates that came after it.
    subscriptions: dict[str, int] = field(default_factory=dict)


class Sessions:
    def __init__(self, keyspace: Keyspace, secret: str | bytes, ttl: float = 3600.0) -> None:
        self.keyspace = keyspace
        self.ttl = ttl
        # HMAC-SHA256 under a key derived once for this purpose (itsdangerous would derive
        # it again on every verify, with SHA-1 through a slow Python hmac path).
        key = hmac.digest(secret.encode() if isinstance(secret, str) else secret,
                          b"edgemcp.session", "sha256")
        self._signer = Signer(key, key_derivation="none", digest_method=hashlib.sha256)
        # A signature check is a pure function of the token: a client presents the same
        # token on every request, so remember recent verdicts (bounded; existence and
        # expiry are still read from the store on every request).
        self.verify = lru_cache(maxsize=4096)(self.verify)  # type: ignore[method-assign]

    def _key(self, raw_id: str) -> str:
        return f"session:{raw_id}"

    def verify(self, token: str) -> str | None:
        """The raw id inside a session token, or None if the signature does not hold."""
        try:
            return self._signer.unsign(token.encode("ascii")).decode("ascii")
        except (BadSignature, UnicodeError):
            return None

    async def create(
        self,
        protocol_version: str,
        client_capabilities: dict[str, Any],
        client_info: dict[str, Any] | None,
        principal: str,
    ) -> tuple[str, Session]:
        raw_id = secrets.token_hex(16)
        session = Session(
            raw_id, protocol_version, client_capabilities, client_info, None, principal,
            time.time(),
        )
        await self.keyspace.set(self._key(raw_id), asdict(session), self.ttl)
        return self._signer.sign(raw_id).decode("ascii"), session

    async def load(self, raw_id: str) -> Session | None:
        record = await self.keyspace.get(self._key(raw_id))
        if record is None:
            return None
        session = Session(**record)
        if time.time() - session.refreshed_at > self.ttl / 2:
            await self.save(session)
        return session

    async def save(self, session: Session) -> None:
        session.refreshed_at = time.time()
        await self.keyspace.set(self._key(session.id), asdict(session), self.ttl)

    async def delete(self, raw_id: str) -> None:
        await self.keyspace.delete(self._key(raw_id))
