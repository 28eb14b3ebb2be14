"""The ports of the protocol core: what it reads (the ``Catalog``), what it runs (a
``Tool``), and what it asks of the world for everything that does I/O (``Services``).

The core is a pure function of (message, request info, services, channel): the HTTP edge
hands it a ``Services`` (edgemcp's pipeline over the store) and a ``Channel`` (the
response stream); a test may hand it in-memory ones.
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

from .caching import CachePolicy
from .context import Context
from .request import RequestInfo
from .task_policy import TaskPolicy

Result = dict[str, Any]
Completer = Callable[[str, str, dict[str, Any]], Any]


class Tool(Protocol):
    """A tool as the core sees it: its wire definition and how to run it. Where it runs
    (this process, another server, a background task) is the tool's own business."""

    @property
    def name(self) -> str: ...
    @property
    def definition(self) -> dict[str, Any]: ...
    @property
    def digest(self) -> str: ...
    @property
    def cache(self) -> CachePolicy | None: ...
    @property
    def dry_run(self) -> bool: ...
    @property
    def task(self) -> TaskPolicy | None:
        """Whether (and how) a call may run as a task (the tasks extension)."""
        ...

    async def run(self, arguments: dict[str, Any], ctx: Context) -> Result: ...


class Resource(Protocol):
    @property
    def definition(self) -> dict[str, Any]: ...
    @property
    def digest(self) -> str: ...
    @property
    def cache(self) -> CachePolicy | None: ...

    async def read(self, uri: str, variables: dict[str, str], ctx: Context) -> list[dict[str, Any]]: ...


class Prompt(Protocol):
    @property
    def definition(self) -> dict[str, Any]: ...
    @property
    def digest(self) -> str: ...

    async def render(self, arguments: dict[str, Any], ctx: Context) -> Result: ...


@dataclass(frozen=True, slots=True)
class Offers:
    """What a server advertises in its capabilities."""

    tools: bool = False
    resources: bool = False
    prompts: bool = False
    completions: bool = False
    tasks: bool = False  # some tool may run as a task: the tasks extension (2026-07-28)


class Catalog(Protocol):
    """What a server offers besides its tools (those come through ``Services``, which
    guard them), and how it lists things. Lookups are async: a catalog may live on
    other servers (a gateway's upstreams)."""

    @property
    def server_info(self) -> dict[str, Any]: ...
    @property
    def instructions(self) -> str | None: ...
    @property
    def list_ttl_ms(self) -> int: ...
    @property
    def page_size(self) -> int: ...
    @property
    def private_lists(self) -> bool:
        """Lists may differ per caller (authentication is on): never share them."""
        ...
    @property
    def offers(self) -> Offers: ...

    async def list_resources(self) -> Sequence[Resource]: ...
    async def list_templates(self) -> Sequence[Resource]: ...
    async def find_resource(self, uri: str) -> tuple[Resource, dict[str, str]] | None: ...
    async def list_prompts(self) -> Sequence[Prompt]: ...
    async def get_prompt(self, name: str) -> Prompt | None: ...
    async def get_completer(self, kind: str, target: str) -> Completer | None: ...


T = TypeVar("T", bound=Tool)


class ToolCall(NamedTuple, Generic[T]):
    """One tools/call as the core hands it to the services that guard and run it (a tuple:
    immutable, and cheap on the hot path)."""

    tool: T
    arguments: dict[str, Any]
    info: RequestInfo
    dry_run: bool = False
    retried: bool = False  # an MRTR retry, carrying answers: never cached, never claimed
    idempotency_key: str | None = None
    cache_bypass: bool = False


class Services(Protocol[T]):
    """Everything the core asks of the world that does I/O or keeps state."""

    async def list_tools(self, info: RequestInfo) -> Sequence[T]:
        """The tools this caller may see, in a stable order."""
        ...

    async def get_tool(self, name: str) -> T | None: ...

    async def call_tool(self, call: ToolCall[T], run: Callable[[], Awaitable[Result]]) -> Result:
        """Guard the call (kill switch, scopes, rate limits, dry-run support), then run it
        (``run``), its result perhaps replayed (idempotency) or reused (cache), or start
        it as a task and answer with the task's handle (``resultType: "task"``)."""
        ...

    async def get_task(self, task_id: str, info: RequestInfo) -> Result:
        """The task as ``tasks/get`` shows it (a DetailedTask), if it is the caller's; else
        an ``MCPError`` that says only "not found"."""
        ...

    async def update_task(self, task_id: str, responses: dict[str, Any], info: RequestInfo) -> None:
        """Answers to a task's outstanding input requests (others are ignored)."""
        ...

    async def cancel_task(self, task_id: str, info: RequestInfo) -> None:
        """Ask for the task to stop (a finished task stays as it is)."""
        ...

    def seal_state(self, principal: str, digest: str, answers: dict[str, Any],
                   state: dict[str, Any]) -> str:
        """MRTR ``requestState``: sealed, bound to the principal and the request."""
        ...

    def open_state(self, token: object, principal: str,
                   digest: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Answers and tool state from a ``requestState``, or an ``MCPError`` saying why not."""
        ...
