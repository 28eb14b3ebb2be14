"""Long-running work as tasks (the tasks extension, SEP-2663): the service that starts
and answers for tasks on any replica (``service``), and the runner that does their work
in the background of one (``runner``). Their records live in ``edgemcp.state.tasks``."""

from .runner import KEEP_ALIVE, TaskRunner, keep_alive_with
from .service import TaskService

__all__ = ["KEEP_ALIVE", "TaskRunner", "TaskService", "keep_alive_with"]
