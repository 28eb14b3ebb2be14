"""Open streams counted across replicas, per session and per principal, so neither can
hold more than its limit: each open GET stream holds a lease in two records (the
session's, the principal's); a ``subscriptions/listen`` stream (no session) only in the
principal's. Records change by compare-and-set (key kind ``streams``: the exact store on
Workers). The stream renews its lease while it is open and drops it when it closes; a
lease whose replica died expires after ``3 * period``.

A session's stream is one logical stream (its standalone stream, or one request stream
resumed by GET): a new GET for a stream that already has a connection takes the lease
over, and the old connection ends, so no message goes out on two connections.
"""

import contextlib
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

from ..store import Keyspace, StoreError
from .events import update


class LimitReached(Exception):
    def __init__(self, per: str, limit: int) -> None:
        super().__init__(f"{per} has {limit} open streams")
        self.per = per  # "session" or "principal"
        self.limit = limit


@dataclass(frozen=True, slots=True)
class Lease:
    id: str
    session_key: str | None  # None: a stream of no session (subscriptions/listen)
    principal_key: str


class StreamLeases:
    def __init__(self, keyspace: Keyspace, *, per_session: int, per_principal: int, period: float) -> None:
        self.keyspace = keyspace
        self.per_session = per_session
        self.per_principal = per_principal
        self.period = period
        self.ttl = 3 * period

    async def acquire(self, session_id: str | None, who: str, stream: str) -> tuple[Lease, list[str]]:
        """A lease on ``stream`` of the session (None: of no session) for ``who`` (a
        principal, or a client address), and the leases it took over; ``LimitReached``
        when either record is full."""
        principal = hashlib.sha256(who.encode()).hexdigest()[:24]
        lease = Lease(secrets.token_urlsafe(9), None if session_id is None else f"streams:s:{session_id}",
                      f"streams:p:{principal}")
        now = time.time()
        replaced: list[str] = []

        def claim_in_session(record: Any) -> dict[str, Any]:
            live = {k: v for k, v in (record or {}).items() if v[1] > now}
            taken = [k for k, v in live.items() if v[0] == stream]
            for key in taken:
                del live[key]
            if len(live) >= self.per_session:
                raise LimitReached("session", self.per_session)
            replaced[:] = taken
            return {**live, lease.id: [stream, now + self.ttl]}

        def claim_for_principal(record: Any) -> dict[str, Any]:
            live = {k: v for k, v in (record or {}).items() if v > now and k not in replaced}
            if len(live) >= self.per_principal:
                raise LimitReached("principal", self.per_principal)
            return {**live, lease.id: now + self.ttl}

        if lease.session_key is not None:
            await update(self.keyspace, lease.session_key, claim_in_session, self.ttl)
        try:
            await update(self.keyspace, lease.principal_key, claim_for_principal, self.ttl)
        except BaseException:
            if lease.session_key is not None:
                await self._drop(lease.session_key, lease.id)
            raise
        return lease, replaced

    async def renew(self, lease: Lease) -> bool:
        """Extend the lease; False when it is gone (taken over by a newer GET, or expired)."""
        now = time.time()
        held = True

        def extend_in_session(record: Any) -> Any:
            nonlocal held
            held = isinstance(record, dict) and lease.id in record
            if not held:
                return None
            return {**record, lease.id: [record[lease.id][0], now + self.ttl]}

        if lease.session_key is not None:
            await update(self.keyspace, lease.session_key, extend_in_session, self.ttl)
            if not held:
                return False
        await update(self.keyspace, lease.principal_key, lambda record: {
            **{k: v for k, v in (record or {}).items() if v > now}, lease.id: now + self.ttl}, self.ttl)
        return True

    async def release(self, lease: Lease) -> None:
        """Drop the lease (best effort: an unreachable store lets it expire instead)."""
        for key in (lease.session_key, lease.principal_key):
            if key is not None:
                await self._drop(key, lease.id)

    async def _drop(self, key: str, lease_id: str) -> None:
        def without(record: Any) -> Any:
            if not isinstance(record, dict) or lease_id not in record:
                return None
            return {k: v for k, v in record.items() if k != lease_id}

        with contextlib.suppress(StoreError):
            await update(self.keyspace, key, without, self.ttl)


class Slots:
    """At most ``limit`` holders of one record at once, across replicas (key kind
    ``pending``: the exact store on Workers): a session's server-to-client requests
    awaiting replies. A holder whose replica died frees its slot after ``ttl``."""

    def __init__(self, keyspace: Keyspace, *, limit: int, ttl: float) -> None:
        self.keyspace = keyspace
        self.limit = limit
        self.ttl = ttl

    async def take(self, key: str) -> str:
        """A slot in ``key``'s record; ``LimitReached("session", limit)`` when it is full."""
        slot = secrets.token_urlsafe(9)
        now = time.time()

        def claim(record: Any) -> dict[str, Any]:
            live = {k: v for k, v in (record or {}).items() if v > now}
            if len(live) >= self.limit:
                raise LimitReached("session", self.limit)
            return {**live, slot: now + self.ttl}

        await update(self.keyspace, key, claim, self.ttl)
        return slot

    async def give_back(self, key: str, slot: str) -> None:
        def without(record: Any) -> Any:
            if not isinstance(record, dict) or slot not in record:
                return None
            return {k: v for k, v in record.items() if k != slot}

        with contextlib.suppress(StoreError):
            await update(self.keyspace, key, without, self.ttl)
