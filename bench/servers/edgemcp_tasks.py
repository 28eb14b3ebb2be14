"""edgemcp with one extra tool, ``task_echo`` (``task="optional"``), for workload (h): a
client that declares the tasks extension gets a task handle for every call, and polls
``tasks/get`` for the result. Same ten tools as edgemcp_app besides.

One anonymous caller creates thousands of tasks a second here, each finished within
milliseconds: the cap on a caller's unfinished tasks is raised so that it measures the
work, not the cap; results are kept a minute (not the default hour) so the memory store
does not grow for the whole run."""

from edgemcp import EdgeMCP

from ._functions import TOOLS

app = EdgeMCP("bench-tasks", version="1.0.0", max_pending_tasks=100_000)
for fn in TOOLS:
    app.tool(fn)


@app.tool(task="optional", task_ttl=60, read_only=True)
def task_echo(text: str) -> str:
    """Echo the text back, as a task."""
    return text


asgi = app.asgi()
