"""Kill switches: turn a tool, or every tool of a placement, off at runtime through the
store, with no redeploy (``edgemcp tools disable NAME --store URL --app NAME``).

All switches of an app live in one store record, read at most once per ``refresh``
seconds per replica: a switch takes effect within ``refresh`` (default 1 s) on Redis or
memory, and within KV's propagation delay (up to 60 s) on Workers KV.

While the store is unreachable, a replica keeps the switches it last read (a disabled tool
stays disabled) and logs the outage once, and its end once. A replica that starts while the
store is down knows no switches: it says so in the log, and serves every tool until the
store answers (refusing every tool would turn a store outage into a full outage).
"""

import logging
import time
from typing import Any

from ..protocol.errors import TOOL_DISABLED, ErrorKind, MCPError
from ..store import Keyspace, StoreError

RECORD = "killswitches"

log = logging.getLogger("edgemcp")


def switch_name(tool: str | None = None, placement: str | None = None) -> str:
    return f"placement:{placement}" if placement else f"tool:{tool}"


def _reason(switches: dict[str, Any], tool: str, placement: str) -> str | None:
    entry = switches.get(switch_name(tool)) or switches.get(switch_name(placement=placement))
    if entry is None:
        return None
    return str(entry.get("reason") or "disabled by an operator") if isinstance(entry, dict) else "disabled"


class KillSwitches:
    def __init__(self, keyspace: Keyspace, refresh: float = 1.0) -> None:
        self.keyspace = keyspace
        self.refresh = refresh
        self._seen: dict[str, Any] = {}
        self._read_at = float("-inf")
        self._known = False  # read from the store at least once
        self._outage = False  # the last read failed (logged once, when it began)

    async def read(self) -> dict[str, Any]:
        """The switches as the store has them now; ``StoreError`` when it cannot say (an
        operator asking must hear that, not "nothing is switched off")."""
        record = await self.keyspace.get(RECORD)
        return record if isinstance(record, dict) else {}

    async def current(self) -> dict[str, Any]:
        """The switches this replica goes by: read at most once per ``refresh``; through a
        store outage, the last ones read."""
        if time.monotonic() - self._read_at >= self.refresh:
            self._read_at = time.monotonic()  # before the read: one reader per refresh, not one per request
            try:
                self._seen = await self.read()
            except StoreError as exc:
                self._lost(exc)
            else:
                if self._outage:
                    log.warning("kill switches: the store answers again (%d switch(es) set)", len(self._seen))
                self._outage, self._known = False, True
        return self._seen

    def _lost(self, exc: StoreError) -> None:
        if self._outage:
            return  # logged when the outage began
        self._outage = True
        if self._known:
            names = ", ".join(sorted(self._seen)) or "none"
            log.warning("kill switches: store unavailable (%s); keeping the last switches read "
                        "(%d set: %s) until it answers", exc, len(self._seen), names)
        else:
            log.error("kill switches: store unavailable at start (%s); no switches are known, so "
                      "no tool is switched off until the store answers", exc)

    async def reason(self, tool: str, placement: str) -> str | None:
        return _reason(await self.current(), tool, placement)

    async def check(self, tool: str, placement: str) -> None:
        # Once per tool call: while the last read is fresh, no coroutine below this one,
        # and nothing to look up when no switch is set (the usual case).
        fresh = time.monotonic() - self._read_at < self.refresh
        switches = self._seen if fresh else await self.current()
        if not switches:
            return
        reason = _reason(switches, tool, placement)
        if reason is not None:
            raise MCPError(TOOL_DISABLED, f"Tool '{tool}' is disabled: {reason}",
                           {"tool": tool, "reason": reason}, kind=ErrorKind.FORBIDDEN)

    async def set(self, name: str, reason: str | None) -> Any:
        """Turn switch ``name`` on (with a reason) or off (``None``), atomically; the
        switch's entry before (None: it was off)."""
        for _ in range(50):
            current = await self.keyspace.get(RECORD)
            updated = dict(current) if isinstance(current, dict) else {}
            before = updated.get(name)
            if reason is None:
                updated.pop(name, None)
            else:
                updated[name] = {"reason": reason, "at": int(time.time())}
            if await self.keyspace.compare_and_set(RECORD, current, updated):
                self._read_at = float("-inf")
                return before
        raise StoreError("kill switch update kept conflicting; try again")
