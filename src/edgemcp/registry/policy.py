"""The policies edgemcp enforces around a tool, as plain values: where it may run, how
often it may be called, and what the audit log may show of its arguments."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Placement = Literal["edge", "core", "any"]
PLACEMENTS: tuple[str, ...] = ("edge", "core", "any")

# What the audit log may show of an argument: one of SUMMARIES, or a function of the value.
Summary = str | Callable[[Any], Any]
SUMMARIES = ("keep", "length", "last4", "type", "fingerprint")

_UNITS = {"second": 1, "sec": 1, "s": 1, "minute": 60, "min": 60, "m": 60, "hour": 3600, "h": 3600,
          "day": 86400, "d": 86400}
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(\d*)\s*([a-z]+)\s*$")


@dataclass(frozen=True, slots=True)
class Rate:
    """``limit`` calls per ``period`` seconds, with bursts up to ``limit``."""

    limit: float
    period: float
    per: Literal["agent", "tool"] = "agent"

    @classmethod
    def parse(cls, text: "str | Rate", per: Literal["agent", "tool"] = "agent") -> "Rate":
        """``"5/minute"``, ``"100/hour"``, ``"10/30s"``."""
        if isinstance(text, Rate):
            return text
        found = _RATE.match(text.lower())
        if not found or found.group(3) not in _UNITS:
            raise ValueError(f"rate {text!r}: expected like '5/minute', '100/hour' or '10/30s'")
        count = float(found.group(2) or 1)
        return cls(float(found.group(1)), count * _UNITS[found.group(3)], per)

    @property
    def per_second(self) -> float:
        return self.limit / self.period

    def describe(self) -> str:
        return f"{self.limit:g} per {self.period:g}s"


def check_placement(placement: str) -> Placement:
    if placement not in PLACEMENTS:
        raise ValueError("placement must be 'edge', 'core' or 'any'")
    return placement  # type: ignore[return-value]


def check_summaries(summaries: dict[str, Summary] | None) -> dict[str, Summary]:
    for name, how in (summaries or {}).items():
        if not callable(how) and how not in SUMMARIES:
            raise ValueError(f"audit summary for {name!r} must be a callable or one of {', '.join(SUMMARIES)}")
    return dict(summaries or {})
