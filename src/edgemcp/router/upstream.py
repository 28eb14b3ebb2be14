"""One upstream MCP server as the router knows it: where it is, how to reach it, what to do
when it is down, and the errors that name it."""

from dataclasses import dataclass, field
from typing import Any, Literal

from ..protocol.errors import INTERNAL_ERROR, ErrorKind, MCPError
from ..registry.policy import Placement
from .credentials import Credentials

Failure = Literal["open", "closed"]


@dataclass(frozen=True)
class Upstream:
    """``failure="open"``: while this upstream is unreachable its tools drop out of the
    merged lists and the others carry on; ``"closed"``: the merged lists refuse (503)
    rather than leave its tools out. Its tools take ``placement`` unless they declare one."""

    name: str
    url: str
    prefix: str = ""
    failure: Failure = "open"
    timeout: float = 30.0
    placement: Placement = "any"
    credentials: Credentials | None = None
    headers: dict[str, str] = field(default_factory=dict)
    era: Literal["modern", "handshake"] | None = None  # None: ask it (server/discover)

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"upstream name {self.name!r}: use letters, digits, - and _")
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"upstream {self.name}: {self.url!r} is not an http(s) URL")
        if self.failure not in ("open", "closed"):
            raise ValueError(f"upstream {self.name}: failure must be 'open' or 'closed'")


def _named(upstream: str, message: str, kind: ErrorKind, **data: Any) -> MCPError:
    return MCPError(INTERNAL_ERROR, f"Upstream '{upstream}' {message}", {"upstream": upstream, **data}, kind=kind)


def unreachable(upstream: str, why: str = "is unreachable") -> MCPError:
    return _named(upstream, why, ErrorKind.UNAVAILABLE)


def timed_out(upstream: str, seconds: float) -> MCPError:
    return _named(upstream, f"did not answer within {seconds:g} s", ErrorKind.GATEWAY_TIMEOUT)


def bad_answer(upstream: str, why: str) -> MCPError:
    return _named(upstream, f"answered something unusable: {why}", ErrorKind.BAD_GATEWAY)
