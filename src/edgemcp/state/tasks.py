"""Tasks in the store (the tasks extension): the durable record of each task, the lease
its runner holds while it works, and the count of each caller's unfinished tasks.

- ``task:{id}``: the record (``TaskRecord``). It holds the owner's principal key (never a
  token or a header), the status, its message, the outstanding input requests, the result
  or error, and the call's input (arguments, answers so far, tool state, who called and
  with what capabilities) sealed with a key derived from the app secret and bound to the
  task id and owner. It lives for the task's ``ttlMs`` from creation, then the store drops
  it. Every change is a compare-and-set, so concurrent writers (the runner, a cancel, an
  update, a reader noticing a dead runner) never lose each other's changes; the first
  to write a terminal status wins.
- ``task-lease:{id}:{run}``: present while run ``run`` works on the task; its runner
  renews it. A record that says ``working`` for a run whose lease lapsed belongs to a
  replica that died: whoever reads it next marks it failed.
- ``task-quota:{owner digest}``: how many of the owner's tasks have not finished.

All of these kinds need a strongly consistent, atomic store (``store.split.EXACT_KINDS``).
"""

import hashlib
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from ..protocol.task_policy import TERMINAL
from ..store import Keyspace
from ..store.keyspace import pack, unpack
from .seal import Sealer

# Task ids are ours (token_urlsafe): anything else is unknown without asking the store.
_TASK_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
CAS_ATTEMPTS = 32
MIN_TTL = 1.0  # seconds: a record written at the end of its life still lands


def new_task_id() -> str:
    return secrets.token_urlsafe(24)


def new_run_id() -> str:
    return secrets.token_urlsafe(9)


def valid_task_id(task_id: str) -> bool:
    return bool(_TASK_ID.match(task_id))


def iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


@dataclass(slots=True)
class TaskInput:
    """What the call was: sealed in the record, opened by the replica that runs it."""

    arguments: dict[str, Any]
    answers: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    caller: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class TaskRecord:
    id: str
    owner: str
    tool: str
    status: str
    created: float
    updated: float
    ttl_ms: int
    poll_ms: int
    sealed: bytes
    run: str | None = None  # the run working on it now (status "working")
    message: str | None = None
    requests: dict[str, Any] | None = None  # outstanding input requests, by key
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def pack(self) -> bytes:
        packed: bytes = pack({name: getattr(self, name) for name in RECORD_FIELDS})
        return packed

    def remaining(self, now: float) -> float:
        """Seconds until the record's time to live (from creation) runs out."""
        return max(MIN_TTL, self.created + self.ttl_ms / 1000 - now)

    def wire(self, detailed: bool = True) -> dict[str, Any]:
        """The Task, flat: a CreateTaskResult (``detailed=False``) or, with the payload
        its status calls for, a DetailedTask for ``tasks/get``."""
        task: dict[str, Any] = {
            "taskId": self.id, "status": self.status,
            "createdAt": iso(self.created), "lastUpdatedAt": iso(self.updated),
            "ttlMs": self.ttl_ms, "pollIntervalMs": self.poll_ms,
        }
        if self.message:
            task["statusMessage"] = self.message
        if detailed:
            if self.status == "input_required":
                task["inputRequests"] = self.requests or {}
            elif self.status == "completed":
                task["result"] = self.result or {"content": []}
            elif self.status == "failed":
                task["error"] = self.error or {"code": -32603, "message": "Internal error"}
        return task


# Field names, for packing without dataclasses.asdict (it deep-copies every nested value).
RECORD_FIELDS = tuple(f.name for f in fields(TaskRecord))
INPUT_FIELDS = tuple(f.name for f in fields(TaskInput))


class TaskStore:
    def __init__(self, keyspace: Keyspace, secret: str | bytes, *, lease: float = 10.0) -> None:
        self.keyspace = keyspace
        self.lease = lease
        self._sealer = Sealer(secret, "task")

    # -- the sealed input ----------------------------------------------------------------
    @staticmethod
    def _bound_to(task_id: str, owner: str) -> bytes:
        return f"{task_id}\x00{owner}".encode()

    def seal(self, task_id: str, owner: str, given: TaskInput) -> bytes:
        packed = pack({name: getattr(given, name) for name in INPUT_FIELDS})
        return self._sealer.seal(packed, self._bound_to(task_id, owner))

    def open(self, record: TaskRecord) -> TaskInput:
        opened = self._sealer.open(record.sealed, self._bound_to(record.id, record.owner))
        if opened is None:
            # Only a changed secret (or a tampered store) gets here.
            raise ValueError(f"task {record.id}: its input does not open with this app's secret")
        return TaskInput(**unpack(opened))

    # -- the record ----------------------------------------------------------------------
    def _key(self, task_id: str) -> str:
        return self.keyspace.key(f"task:{task_id}")

    async def create(self, record: TaskRecord) -> None:
        await self.keyspace.store.set(self._key(record.id), record.pack(), record.remaining(time.time()))

    async def load(self, task_id: str) -> TaskRecord | None:
        if not valid_task_id(task_id):
            return None
        raw = await self.keyspace.store.get(self._key(task_id))
        return None if raw is None else TaskRecord(**unpack(raw))

    async def change(self, task_id: str, mutate: Callable[[TaskRecord], bool]) -> tuple[TaskRecord | None, bool]:
        """Apply ``mutate`` (which returns False to leave the record as it is) by
        compare-and-set, again on the current record if another writer came first.
        Returns the record as it now is (None if there is none) and whether it changed."""
        if not valid_task_id(task_id):
            return None, False
        store, key = self.keyspace.store, self._key(task_id)
        for _ in range(CAS_ATTEMPTS):
            raw = await store.get(key)
            if raw is None:
                return None, False
            record = TaskRecord(**unpack(raw))
            if not mutate(record):
                return record, False
            now = time.time()
            record.updated = now
            if await store.compare_and_set(key, raw, record.pack(), record.remaining(now)):
                return record, True
        raise RuntimeError(f"task {task_id}: too many concurrent changes")

    # -- the lease -----------------------------------------------------------------------
    def _lease(self, task_id: str, run: str) -> str:
        return f"task-lease:{task_id}:{run}"

    async def hold_lease(self, task_id: str, run: str) -> None:
        await self.keyspace.set(self._lease(task_id, run), 1, self.lease)

    async def lease_held(self, task_id: str, run: str) -> bool:
        return await self.keyspace.get(self._lease(task_id, run)) is not None

    async def drop_lease(self, task_id: str, run: str) -> None:
        await self.keyspace.delete(self._lease(task_id, run))

    # -- a caller's unfinished tasks -----------------------------------------------------
    def _quota(self, owner: str) -> str:
        return "task-quota:" + hashlib.sha256(owner.encode()).hexdigest()[:32]

    async def reserve(self, owner: str, limit: int, ttl: float) -> bool:
        """Count one more unfinished task for ``owner``, unless it has ``limit`` already.
        The count expires ``ttl`` after it was started, so a count left behind by a task
        nobody ever looked at again cannot lock its owner out for good."""
        if await self.keyspace.store.incr(self.keyspace.key(self._quota(owner)), 1, ttl) <= limit:
            return True
        await self.release(owner, ttl)
        return False

    async def release(self, owner: str, ttl: float) -> None:
        await self.keyspace.store.incr(self.keyspace.key(self._quota(owner)), -1, ttl)


def cancel_key(task_id: str) -> str:
    """The Mailbox key that tells a task's runner, wherever it runs, to stop."""
    return f"task-cancel:{task_id}"
