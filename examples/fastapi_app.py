"""An MCP server inside a FastAPI app: the app's own routes beside the MCP endpoint.

    uvicorn examples.fastapi_app:api        # MCP endpoint: http://127.0.0.1:8000/tools/mcp

The mounted app serves its endpoint below the mount (``/tools`` + ``/mcp``); the host's
lifespan starts it (the store, and a bad configuration failing the start), because a host
app does not pass lifespan events to what it mounts.
"""

from fastapi import FastAPI

from examples.weather import app as weather

api = FastAPI(title="Weather service", lifespan=weather.lifespan)


@api.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


api.mount("/tools", weather.asgi())
