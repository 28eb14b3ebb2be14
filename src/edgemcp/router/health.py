"""What the router remembers of an upstream's health, shared by every replica through the
store: an upstream that failed is marked down for a few seconds, and requests for it fail
at once instead of each paying its timeout. After that the next request tries it again."""

import contextlib
import time

from ..store import Keyspace, StoreError
from .upstream import Upstream, unreachable

DOWN_FOR = 5.0  # seconds an upstream stays marked down after a failure


class Health:
    def __init__(self, keyspace: Keyspace, down_for: float = DOWN_FOR) -> None:
        self.keyspace = keyspace
        self.down_for = down_for
        # A replica-local copy of "down", so a dead upstream costs no store read either;
        # "up" is never assumed locally beyond what the store says.
        self._down_until: dict[str, tuple[float, str]] = {}

    async def check(self, upstream: Upstream) -> None:
        """Raise at once if the upstream is known to be down."""
        until, why = self._down_until.get(upstream.name, (0.0, ""))
        now = time.time()
        if until <= now:
            try:
                record = await self.keyspace.get(self._key(upstream))
            except StoreError:
                return  # health is an optimisation: without the store, just try
            if not isinstance(record, dict) or record.get("until", 0) <= now:
                return
            until, why = float(record["until"]), str(record.get("why", "is unreachable"))
            self._down_until[upstream.name] = (until, why)
        raise unreachable(upstream.name, f"{why} (marked down for {until - now:.1f} s more)")

    async def down(self, upstream: Upstream, why: str) -> None:
        until = time.time() + self.down_for
        self._down_until[upstream.name] = (until, why)
        with contextlib.suppress(StoreError):  # remembered here at least
            await self.keyspace.set(self._key(upstream), {"until": until, "why": why}, self.down_for)

    @staticmethod
    def _key(upstream: Upstream) -> str:
        return f"health:{upstream.name}"
