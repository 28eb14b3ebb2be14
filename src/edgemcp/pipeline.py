"""The services the protocol core uses (``protocol.ports.Services``), over the guards and
the store: which tools a caller may see, and the way of one tool call:

    kill switch → scopes → task support → rate limits → dry-run support
        → a task, or idempotency or cache → the tool

A call refused for a permanent reason never spends rate budget; a call with an idempotency
key is never served from the result cache (its first result is kept by its key); a dry
run or an MRTR retry is neither cached nor claimed. A call of a tool that supports tasks,
from a client that declared the tasks extension, becomes a task (``tasks.TaskService``):
at once, or when the tool calls ``ctx.start_task()``.
"""

from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from .guards.cache import ResultCache
from .guards.idempotency import Idempotency
from .guards.killswitch import KillSwitches
from .guards.ratelimit import RateLimiter
from .protocol.context import StartTask
from .protocol.errors import MCPError, forbidden, invalid_params
from .protocol.ports import ToolCall
from .protocol.principal import Principal
from .protocol.request import RequestInfo
from .protocol.task_policy import declares_tasks, tasks_required
from .registry.source import ToolSource
from .registry.tools import Tool
from .state.request_state import RequestStateSealer
from .tasks.service import TaskService

Result = dict[str, Any]


class Pipeline:
    def __init__(self, source: ToolSource, *, kill_switches: KillSwitches, rate_limiter: RateLimiter,
                 idempotency: Idempotency, cache: ResultCache, sealer: RequestStateSealer,
                 tasks: TaskService, oauth: Any = None) -> None:
        self.source = source
        self.kill_switches = kill_switches
        self.rate_limiter = rate_limiter
        self.idempotency = idempotency
        self.cache = cache
        self.sealer = sealer
        self.tasks = tasks
        self.oauth = oauth  # words a missing scope as an OAuth insufficient_scope challenge

    # -- what a caller may see -----------------------------------------------------------
    @staticmethod
    def permitted(tool: Tool, principal: Principal) -> bool:
        return tool.scopes <= principal.scopes

    async def visible(self, tool: Tool, principal: Principal) -> bool:
        return self.permitted(tool, principal) and (
            await self.kill_switches.reason(tool.name, tool.placement) is None)

    async def list_tools(self, info: RequestInfo) -> Sequence[Tool]:
        return [t for t in await self.source.list_tools() if await self.visible(t, info.principal)]

    def get_tool(self, name: str) -> Coroutine[Any, Any, Tool | None]:
        return self.source.get_tool(name)  # the source's own coroutine: no frame of ours on the hot path

    # -- one call: kill switch, then scopes, then rate limits, then the rest -------------
    def _missing_scope(self, tool: Tool, missing: list[str]) -> MCPError:
        if self.oauth is not None:
            return self.oauth.insufficient_scope(missing, tool.name)  # type: ignore[no-any-return]
        return forbidden(f"Forbidden: tool '{tool.name}' needs scope {' '.join(missing)}",
                         {"requiredScopes": missing})

    async def call_tool(self, call: ToolCall[Tool], run: Callable[[], Awaitable[Result]]) -> Result:
        tool, info = call.tool, call.info
        await self.kill_switches.check(tool.name, tool.placement)
        if not self.permitted(tool, info.principal):
            raise self._missing_scope(tool, sorted(tool.scopes - info.principal.scopes))
        if tool.task is not None and tool.task.support == "required" and not declares_tasks(info):
            raise tasks_required()
        if self.rate_limiter.agent_rate is not None or tool.rate is not None:
            await self.rate_limiter.check(tool.name, tool.rate, info.principal, info.client)
        if call.dry_run and not tool.dry_run:
            raise invalid_params(f"Tool '{tool.name}' does not support dry runs")
        if tool.task is not None and not call.dry_run and declares_tasks(info):
            if tool.task.start == "call":
                return await self.tasks.create(call)
            try:
                return await run()
            except StartTask as start:  # the tool asked to go on as a task
                return await self.tasks.create(call, start.answers, start.state)
        if call.dry_run or call.retried:
            return await run()
        if call.idempotency_key is not None:
            return await self.idempotency.run(call.idempotency_key, tool.name, call.arguments,
                                              info.principal, run)
        if tool.cache is None:
            return await run()
        return await self.cache.call(tool, call.arguments, info.principal, call.cache_bypass, run)

    # -- tasks ---------------------------------------------------------------------------
    async def get_task(self, task_id: str, info: RequestInfo) -> Result:
        return await self.tasks.get(task_id, info)

    async def update_task(self, task_id: str, responses: dict[str, Any], info: RequestInfo) -> None:
        await self.tasks.update(task_id, responses, info)

    async def cancel_task(self, task_id: str, info: RequestInfo) -> None:
        await self.tasks.cancel(task_id, info)

    # -- MRTR state ----------------------------------------------------------------------
    def seal_state(self, principal: str, digest: str, answers: dict[str, Any],
                   state: dict[str, Any]) -> str:
        return self.sealer.seal(principal, digest, answers, state)

    def open_state(self, token: object, principal: str,
                   digest: str) -> tuple[dict[str, Any], dict[str, Any]]:
        return self.sealer.unseal(token, principal, digest)
