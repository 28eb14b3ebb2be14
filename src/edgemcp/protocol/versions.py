"""Protocol revisions and the two eras they belong to.

Kept as plain constants (not imported from ``mcp_types``) because importing the
wire-model package costs a third of a second, and a cold start is a bill at the edge.
"""

from typing import Final, Literal

Era = Literal["modern", "handshake"]

HANDSHAKE_VERSIONS: Final = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
MODERN_VERSIONS: Final = ("2026-07-28",)
SUPPORTED_VERSIONS: Final = (*MODERN_VERSIONS, *reversed(HANDSHAKE_VERSIONS))

LATEST_HANDSHAKE: Final = HANDSHAKE_VERSIONS[-1]
LATEST_MODERN: Final = MODERN_VERSIONS[-1]

# A handshake-era request without MCP-Protocol-Version predates the header (spec 2025-06-18).
HEADERLESS_DEFAULT: Final = "2025-03-26"


def negotiate_handshake(requested: object) -> str:
    """The version an ``initialize`` reply offers: the client's if we speak it, else our latest."""
    if isinstance(requested, str) and requested in HANDSHAKE_VERSIONS:
        return requested
    return LATEST_HANDSHAKE
