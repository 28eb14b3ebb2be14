"""Kill switches: turn a tool, or every tool of a placement, off at runtime through the
store, with no redeploy (``edgemcp tools disable NAME --store URL --app NAME``).

All switches of an app live in one store record, read at most once per ``refresh``
seconds per replica: a switch takes effect within ``refresh`` (default 1 s) on Redis or
memory, and within KV's propagation delay (up to 60 s) on Workers KV.
"""

import time
from typing import Any

from ..protocol.errors import TOOL_DISABLED, ErrorKind, MCPError
from ..store import Keyspace, StoreError

RECORD = "killswitches"


def switch_name(tool: str | None = None, placement: str | None = None) -> str:
    return f"placement:{placement}" if placement else f"tool:{tool}"


class KillSwitches:
    def __init__(self, keyspace: Keyspace, refresh: float = 1.0) -> None:
        self.keyspace = keyspace
        self.refresh = refresh
        self._seen: dict[str, Any] = {}
        self._read_at = float("-inf")

    async def current(self) -> dict[str, Any]:
        if time.monotonic() - self._read_at >= self.refresh:
            try:
                record = await self.keyspace.get(RECORD)
            except StoreError:
                record = self._seen  # keep the last known switches while the store is away
            self._seen = record if isinstance(record, dict) else {}
            self._read_at = time.monotonic()
        return self._seen

    async def reason(self, tool: str, placement: str) -> str | None:
        switches = await self.current()
        entry = switches.get(switch_name(tool)) or switches.get(switch_name(placement=placement))
        if entry is None:
            return None
        return str(entry.get("reason") or "disabled by an operator") if isinstance(entry, dict) else "disabled"

    async def check(self, tool: str, placement: str) -> None:
        reason = await self.reason(tool, placement)
        if reason is not None:
            raise MCPError(TOOL_DISABLED, f"Tool '{tool}' is disabled: {reason}",
                           {"tool": tool, "reason": reason}, kind=ErrorKind.FORBIDDEN)

    async def set(self, name: str, reason: str | None) -> None:
        """Turn switch ``name`` on (with a reason) or off (``None``), atomically."""
        for _ in range(50):
            current = await self.keyspace.get(RECORD)
            updated = dict(current) if isinstance(current, dict) else {}
            if reason is None:
                updated.pop(name, None)
            else:
                updated[name] = {"reason": reason, "at": int(time.time())}
            if await self.keyspace.compare_and_set(RECORD, current, updated):
                self._read_at = float("-inf")
                return
        raise StoreError("kill switch update kept conflicting; try again")
