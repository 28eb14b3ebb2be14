"""OpenTelemetry traces and metrics, through ``opentelemetry-api`` when it is installed.

Without the package (the ``otel`` extra) every method here is a cheap no-op. With it but
no SDK configured, spans are skipped too: the API would only hand out non-recording ones.
Once an SDK ``TracerProvider`` is set (globally, or given to ``EdgeMCP(telemetry=...)``),
each MCP request gets one SERVER span following the OpenTelemetry MCP semantic
conventions, store calls get CLIENT child spans, and outbound httpx calls are traced (and
carry ``traceparent``) through ``opentelemetry-instrumentation-httpx``.

Nothing here starts threads: export is the SDK's business (a ``SimpleSpanProcessor``
suits Workers; a ``BatchSpanProcessor`` suits long-running servers).
"""

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..protocol.meta import TRACE_CONTEXT

log = logging.getLogger("edgemcp")

try:
    from opentelemetry import context as otel_context
    from opentelemetry import metrics, propagate, trace
    from opentelemetry.trace import (
        Link,
        NoOpTracerProvider,
        ProxyTracerProvider,
        SpanKind,
        Status,
        StatusCode,
    )
except ImportError:  # the otel extra is not installed
    trace = None  # type: ignore[assignment]



class Telemetry:
    """Tracing and metrics for one app. ``tracer_provider`` / ``meter_provider`` default
    to the global ones; ``instrument_httpx`` traces outbound httpx calls (all clients);
    ``enabled=False`` turns everything off."""

    def __init__(self, *, tracer_provider: Any = None, meter_provider: Any = None,
                 instrument_httpx: bool = True, enabled: bool = True) -> None:
        self.available = enabled and trace is not None
        self._tracer_provider = tracer_provider
        self._meter_provider = meter_provider
        self._instrument_httpx = instrument_httpx
        self._tracer: Any = None
        self._duration: Any = None
        # While no SDK is configured, look again at most once a second (a provider may be
        # set after the app is built), not on every request.
        self._tracer_checked = self._meter_checked = float("-inf")
        self._on_active: list[Callable[[], None]] = []

    def when_active(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once tracing starts (now, if it has): instrumentation that
        costs something per call, such as store spans, is put in place only then."""
        if self._tracer is not None:
            callback()
        else:
            self._on_active.append(callback)

    def tracer(self) -> Any:
        """The tracer, or None while no SDK provider is configured."""
        if self._tracer is not None or not self.available:
            return self._tracer
        now = time.monotonic()
        if now - self._tracer_checked < 1.0:
            return None
        self._tracer_checked = now
        provider = self._tracer_provider or trace.get_tracer_provider()
        if isinstance(provider, ProxyTracerProvider | NoOpTracerProvider):
            return None  # checked again next time: a provider may be set later
        from ..version import __version__

        self._tracer = provider.get_tracer("edgemcp", __version__)
        if self._instrument_httpx:
            _instrument_httpx(provider)
        callbacks, self._on_active = self._on_active, []
        for callback in callbacks:
            callback()
        return self._tracer

    def duration(self) -> Any:
        """The ``mcp.server.operation.duration`` histogram, or None while no SDK meter
        provider is configured."""
        if self._duration is None and self.available:
            now = time.monotonic()
            if now - self._meter_checked < 1.0:
                return None
            self._meter_checked = now
            provider = self._meter_provider or metrics.get_meter_provider()
            if type(provider).__name__ in ("_ProxyMeterProvider", "NoOpMeterProvider"):
                return None  # checked again next time
            self._duration = provider.get_meter("edgemcp").create_histogram(
                "mcp.server.operation.duration", unit="s",
                description="MCP request duration as observed on the server",
                explicit_bucket_boundaries_advisory=[
                    0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
            )
        return self._duration

    def start_server_span(self, name: str, attributes: dict[str, Any],
                          headers: Mapping[str, str], meta: Any) -> tuple[Any, Any]:
        """Start and activate the request's span: ``(span, token)``, or ``(None, None)``.

        Its parent is the trace context in ``params._meta`` when there is one (the MCP
        request's own context), else the HTTP ``traceparent``; with both, the HTTP
        context becomes a link, as the MCP semantic conventions advise."""
        tracer = self.tracer()
        if tracer is None:
            return None, None
        http_ctx = propagate.extract(headers) if "traceparent" in headers else None
        parent = http_ctx
        links = []
        if isinstance(meta, dict) and isinstance(meta.get("traceparent"), str):
            parent = propagate.extract({k: meta[k] for k in TRACE_CONTEXT if isinstance(meta.get(k), str)})
            if http_ctx is not None:
                http_span = trace.get_current_span(http_ctx).get_span_context()
                if http_span.is_valid:
                    links.append(Link(http_span))
        span = tracer.start_span(name, context=parent, kind=SpanKind.SERVER, attributes=attributes,
                                 links=links)
        token = otel_context.attach(trace.set_span_in_context(span, parent))
        return span, token

    @staticmethod
    def end_server_span(span: Any, token: Any, attributes: dict[str, Any], error: str | None) -> None:
        span.set_attributes(attributes)
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, error))
        span.end()
        otel_context.detach(token)

    @staticmethod
    def trace_id(span: Any) -> str | None:
        ctx = span.get_span_context()
        return format(ctx.trace_id, "032x") if ctx.is_valid else None

    def start_client_span(self, name: str, attributes: dict[str, Any]) -> Any:
        """A CLIENT span under the current one (store calls), or None."""
        tracer = self.tracer()
        if tracer is None:
            return None
        return tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)

    @staticmethod
    def fail(span: Any, exc: BaseException) -> None:
        span.set_attribute("error.type", type(exc).__qualname__)
        span.set_status(Status(StatusCode.ERROR, type(exc).__qualname__))


_httpx_instrumented = False


def _instrument_httpx(provider: Any) -> None:
    global _httpx_instrumented
    if _httpx_instrumented:
        return
    _httpx_instrumented = True
    try:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    except ImportError:
        log.info("edgemcp: install opentelemetry-instrumentation-httpx (the otel extra) to "
                 "trace outbound httpx calls")
        return
    instrumentor = HTTPXClientInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(tracer_provider=provider)
