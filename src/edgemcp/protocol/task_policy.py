"""The tasks extension (``io.modelcontextprotocol/tasks``, SEP-2663): which calls may
become tasks, and the errors the extension defines.

A 2026-07-28 client that declares the extension in its per-request capabilities may get
a task handle (``resultType: "task"``) instead of a tool result; it then polls
``tasks/get``, answers input requests with ``tasks/update`` and may ``tasks/cancel``.
The server decides which calls become tasks: each tool declares its support
(``TaskPolicy``), and the services (edgemcp's pipeline) start the task. Everything
stateful (the durable record, the work, the lease) is behind ``Services``; the methods
are in ``tasks``.
"""

from dataclasses import dataclass
from typing import Any, Literal

from .errors import (
    INVALID_PARAMS,
    RATE_LIMITED,
    ErrorKind,
    MCPError,
    missing_capability,
)
from .meta import TASKS_EXTENSION
from .request import RequestInfo

TaskSupport = Literal["optional", "required"]
TaskStart = Literal["call", "explicit"]
STATUSES = ("working", "input_required", "completed", "failed", "cancelled")
TERMINAL = frozenset({"completed", "failed", "cancelled"})

DEFAULT_TTL = 3600.0  # seconds a task and its result are kept (from creation)
DEFAULT_POLL_INTERVAL = 1.0  # seconds the client is asked to wait between polls


@dataclass(frozen=True, slots=True)
class TaskPolicy:
    """How a tool runs as a task: ``support`` ("optional": a task for clients that
    declare the extension, a plain call for the others; "required": clients that do not
    declare it get -32021), ``start`` ("call": the task starts with the call; "explicit":
    the tool runs synchronously until it calls ``ctx.start_task()``), how long the task
    and its result are kept and how often the client should poll, in milliseconds."""

    support: TaskSupport
    start: TaskStart = "call"
    ttl_ms: int = int(DEFAULT_TTL * 1000)
    poll_interval_ms: int = int(DEFAULT_POLL_INTERVAL * 1000)

    @classmethod
    def from_options(cls, support: str | None, start: str, ttl: float,
                     poll_interval: float) -> "TaskPolicy | None":
        if support is None:
            return None
        if support not in ("optional", "required"):
            raise ValueError("task must be 'optional' or 'required'")
        if start not in ("call", "explicit"):
            raise ValueError("task_start must be 'call' or 'explicit'")
        if not ttl > 0 or not poll_interval > 0:
            raise ValueError("task_ttl and task_poll_interval must be positive (seconds)")
        ttl_ms, poll_ms = max(1, round(ttl * 1000)), max(1, round(poll_interval * 1000))
        return cls(support, start, ttl_ms, poll_ms)  # type: ignore[arg-type]

    def wire(self) -> dict[str, Any]:
        """What a tool definition's ``_meta`` says of it (edgemcp's key: the extension
        itself declares no per-tool field)."""
        return {"support": self.support, "start": self.start, "ttlMs": self.ttl_ms,
                "pollIntervalMs": self.poll_interval_ms}


def declares_tasks(info: RequestInfo) -> bool:
    """The request may be answered with a task: a 2026-07-28 request whose capabilities
    list the extension. Declarations do not carry over: each request says it anew."""
    extensions = info.client_capabilities.get("extensions")
    return info.modern and isinstance(extensions, dict) and TASKS_EXTENSION in extensions


def tasks_required() -> MCPError:
    """-32021: the call (or method) needs the tasks extension the client did not declare."""
    return missing_capability({"extensions": {TASKS_EXTENSION: {}}})


def may_become_task(policy: TaskPolicy | None, info: RequestInfo, dry_run: bool) -> bool:
    """Whether this call of a tool with ``policy`` can be answered with a task."""
    return policy is not None and not dry_run and declares_tasks(info)


def task_not_found() -> MCPError:
    """Unknown, expired and other principals' tasks get this same answer (-32602), so a
    task id reveals nothing to anyone but its owner."""
    return MCPError(INVALID_PARAMS, "Failed to retrieve task: Task not found", kind=ErrorKind.NOT_FOUND)


def too_many_tasks(limit: int, retry_after_ms: int) -> MCPError:
    """429: the caller has ``limit`` tasks that have not finished yet."""
    return MCPError(RATE_LIMITED, f"Too many pending tasks: at most {limit} per caller; wait for one "
                    "to finish or cancel one", {"limit": limit, "retryAfterMs": retry_after_ms},
                    kind=ErrorKind.RATE_LIMITED)


