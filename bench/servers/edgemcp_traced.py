"""edgemcp with the OpenTelemetry SDK on: every request makes a SERVER span, exported to
memory by a SimpleSpanProcessor (the last 1,000 spans kept, so memory stays flat over a
run), and records ``mcp.server.operation.duration`` into an in-memory metric reader."""

from collections import deque
from collections.abc import Sequence

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from .edgemcp_app import build


class RecentSpans(SpanExporter):
    """An in-memory exporter that keeps the most recent spans."""

    def __init__(self, keep: int = 1000) -> None:
        self.spans: deque[ReadableSpan] = deque(maxlen=keep)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS


provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(RecentSpans()))
trace.set_tracer_provider(provider)
metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))

app = build()
asgi = app.asgi()
