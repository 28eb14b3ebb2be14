"""edgemcp with the OpenTelemetry SDK tracing: every request makes a SERVER span, exported
to memory by a SimpleSpanProcessor (the last 1,000 spans kept, so memory stays flat over a
run). With EDGEMCP_BENCH_METRICS=1 the SDK's MeterProvider records
``mcp.server.operation.duration`` into an in-memory reader as well."""

import os

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from ._recent_spans import RecentSpans
from .edgemcp_app import build

provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(RecentSpans()))
trace.set_tracer_provider(provider)
if os.environ.get("EDGEMCP_BENCH_METRICS") == "1":
    metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))

app = build()
asgi = app.asgi()
