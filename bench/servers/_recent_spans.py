"""A bounded in-memory span exporter for the traced benchmark servers."""

from collections import deque
from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult


class RecentSpans(SpanExporter):
    """An in-memory exporter that keeps the most recent spans."""

    def __init__(self, keep: int = 1000) -> None:
        self.spans: deque[ReadableSpan] = deque(maxlen=keep)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS
