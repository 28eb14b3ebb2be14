"""Bare Starlette plus one OpenTelemetry SDK span per request (SimpleSpanProcessor into the
same bounded in-memory exporter as edgemcp-traced): what the SDK alone costs, the ceiling
for any traced Python server on this stack."""

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import bare_starlette
from ._recent_spans import RecentSpans

provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(RecentSpans()))
tracer = provider.get_tracer("bench")


async def mcp(request: Request) -> Response:
    with tracer.start_as_current_span("tools/call", kind=SpanKind.SERVER,
                                      attributes={"mcp.method.name": "tools/call"}):
        return await bare_starlette.mcp(request)


asgi = Starlette(routes=[Route("/mcp", mcp, methods=["POST"])])
