"""The tasks extension's side of the core's ``Services``: start a call as a task, and
answer ``tasks/get``, ``tasks/update`` and ``tasks/cancel`` on any replica.

A task belongs to the principal that started it: anyone else (and any unknown or
expired id) gets the same "not found". A call becomes a task only once its record is in
the store, so a ``tasks/get`` on any replica finds it at once; its work then runs on this
replica (``TaskRunner``). A task parked for input is resumed by whichever replica takes
the last missing answer: the tool runs again from the top with every answer so far
(multi round-trip semantics). Each caller has at most ``max_pending`` unfinished tasks.
"""

import logging
import time
from typing import Any

from ..protocol.errors import INTERNAL_ERROR
from ..protocol.ports import ToolCall
from ..protocol.request import RequestInfo
from ..protocol.task_policy import task_not_found, too_many_tasks
from ..registry.source import ToolSource
from ..registry.tools import Tool
from ..state.mailbox import Mailbox
from ..state.tasks import TaskInput, TaskRecord, TaskStore, cancel_key, new_run_id, new_task_id
from .runner import TaskRunner, caller_of, failed, info_of

log = logging.getLogger("edgemcp")

Result = dict[str, Any]


class TaskService:
    def __init__(self, store: TaskStore, mailbox: Mailbox, tools: ToolSource, *, max_pending: int = 100) -> None:
        self.store = store
        self.mailbox = mailbox
        self.tools = tools
        self.max_pending = max_pending
        self.runner = TaskRunner(store, mailbox)

    async def create(self, call: ToolCall[Tool], answers: dict[str, Any] | None = None,
                     state: dict[str, Any] | None = None) -> Result:
        """Make the call a task: durable first, then running here; returns its handle."""
        tool, info = call.tool, call.info
        policy = tool.task
        assert policy is not None
        owner, ttl = info.principal.key, policy.ttl_ms / 1000
        if not await self.store.reserve(owner, self.max_pending, ttl):
            raise too_many_tasks(self.max_pending, policy.poll_interval_ms)
        try:
            task_id, run_id, now = new_task_id(), new_run_id(), time.time()
            given = TaskInput(call.arguments, answers or {}, state or {}, caller_of(info))
            record = TaskRecord(task_id, owner, tool.name, "working", now, now, policy.ttl_ms,
                                policy.poll_interval_ms, self.store.seal(task_id, owner, given), run=run_id)
            # The lease before the record: no reader may see a "working" task without one.
            await self.store.hold_lease(task_id, run_id)
            await self.store.create(record)
        except BaseException:
            await self.store.release(owner, ttl)
            raise
        self.runner.start(record, tool, given, info)
        return {"resultType": "task", **record.wire(detailed=False)}

    async def _own(self, task_id: str, info: RequestInfo) -> TaskRecord:
        record = await self.store.load(task_id)
        if record is None or record.owner != info.principal.key:
            raise task_not_found()
        return record

    async def get(self, task_id: str, info: RequestInfo) -> Result:
        record = await self._own(task_id, info)
        if record.status == "working" and record.run is not None and not await self.store.lease_held(
                record.id, record.run):
            record = await self._given_up(record)
        return record.wire()

    async def _given_up(self, seen: TaskRecord) -> TaskRecord:
        """The replica running ``seen`` stopped renewing its lease (it died, or lost the
        store): the task has failed. The first reader to notice records it."""
        message = "The server running this task stopped before it finished"
        settle = failed({"code": INTERNAL_ERROR, "message": message}, message)

        def mutate(current: TaskRecord) -> bool:
            if current.status != "working" or current.run != seen.run:
                return False  # it moved on meanwhile
            settle(current)
            return True
        record, changed = await self.store.change(seen.id, mutate)
        if record is None:
            raise task_not_found()
        if changed:
            await self.store.release(record.owner, record.ttl_ms / 1000)
        return record

    async def update(self, task_id: str, responses: dict[str, Any], info: RequestInfo) -> None:
        record = await self._own(task_id, info)
        if record.status != "input_required" or not record.requests:
            return  # nothing outstanding: every response is ignored
        run_id = new_run_id()

        def answer(current: TaskRecord) -> bool:
            if current.status != "input_required" or not current.requests:
                return False
            answered = {key: value for key, value in responses.items() if key in current.requests}
            if not answered:
                return False  # keys never asked, or already answered: ignored
            given = self.store.open(current)
            given.answers.update(answered)
            current.sealed = self.store.seal(current.id, current.owner, given)
            current.requests = {k: v for k, v in current.requests.items() if k not in answered} or None
            if current.requests is None:  # the last answer: work again, with this run's lease
                current.status, current.run, current.message = "working", run_id, None
            return True
        await self.store.hold_lease(task_id, run_id)  # in case this is the last answer
        resumed, changed = await self.store.change(task_id, answer)
        if not changed or resumed is None or resumed.run != run_id:
            await self.store.drop_lease(task_id, run_id)
            return
        given = self.store.open(resumed)
        tool = await self.tools.get_tool(resumed.tool)
        if tool is None or tool.task is None:
            message = f"The tool '{resumed.tool}' is no longer served as a task"
            await self.runner.settle(task_id, run_id, failed({"code": INTERNAL_ERROR, "message": message}, message))
            await self.store.drop_lease(task_id, run_id)
            return
        self.runner.start(resumed, tool, given, info_of(given.caller))

    async def cancel(self, task_id: str, info: RequestInfo) -> None:
        record = await self._own(task_id, info)
        if record.terminal:
            return  # finished already: it stays as it ended

        was: list[str] = []

        def stop(current: TaskRecord) -> bool:
            if current.terminal:
                return False
            was[:] = [current.status]
            current.status, current.run, current.requests = "cancelled", None, None
            current.message = "Cancelled by the client"
            return True
        stopped, changed = await self.store.change(task_id, stop)
        if not changed or stopped is None:
            return
        await self.store.release(stopped.owner, stopped.ttl_ms / 1000)
        if was == ["working"]:  # a task waiting for input has no work running to stop
            # Wherever the work runs, its watcher hears this (pub/sub, or its next poll).
            await self.mailbox.deliver(cancel_key(task_id), True, stopped.remaining(time.time()))
