"""``tasks/get``, ``tasks/update`` and ``tasks/cancel``: the tasks extension's methods
(2026-07-28 only). They check the request and ask the services, which keep the tasks."""

from typing import Any

from .errors import invalid_params
from .exchange import Exchange
from .task_policy import declares_tasks, tasks_required


def _task_id(request: Exchange) -> str:
    if not declares_tasks(request.info):
        raise tasks_required()
    task_id = request.params.get("taskId")
    if not isinstance(task_id, str) or not task_id:
        raise invalid_params("params.taskId must be a non-empty string")
    return task_id


class TaskHandlers:
    """``tasks/get``, ``tasks/update`` and ``tasks/cancel`` (2026-07-28 only)."""

    async def get(self, request: Exchange) -> dict[str, Any]:
        return await request.services.get_task(_task_id(request), request.info)

    async def update(self, request: Exchange) -> dict[str, Any]:
        task_id = _task_id(request)
        responses = request.params.get("inputResponses")
        if not isinstance(responses, dict):
            raise invalid_params("params.inputResponses must be an object")
        await request.services.update_task(task_id, responses, request.info)
        return {}  # an acknowledgement: what changed shows in the next tasks/get

    async def cancel(self, request: Exchange) -> dict[str, Any]:
        await request.services.cancel_task(_task_id(request), request.info)
        return {}  # cancellation is cooperative; the next tasks/get tells how it ended
