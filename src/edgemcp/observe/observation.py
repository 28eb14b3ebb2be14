"""One MCP request as the operator sees it: its span, its duration, its correlation id and,
for tool calls and refused attempts, its audit record.

The HTTP edge starts an ``Observation`` once it knows the method, stamps the correlation
id on the response (``X-Correlation-Id``, and ``_meta`` of a tool result), and ends it with
the request's ``Outcome`` after the response went out, so neither the audit sink nor the
exporter adds latency. Nothing else changes an observation.
"""

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from ..protocol.errors import (
    FORBIDDEN,
    INTERNAL_ERROR,
    RATE_LIMITED,
    TOOL_DISABLED,
    UNAUTHENTICATED,
)
from ..protocol.meta import CACHE, CORRELATION_ID
from ..protocol.request import RequestInfo
from ..registry.policy import Summary
from .audit import AuditLog, iso_time
from .telemetry import Telemetry
from .traceparent import caller_trace_id

CORRELATION_HEADER = b"x-correlation-id"
DENIED_CODES = frozenset({UNAUTHENTICATED, FORBIDDEN, TOOL_DISABLED})
CACHED = frozenset({"hit", "collapsed"})
NAMED = {"tools/call": "gen_ai.tool.name", "prompts/get": "gen_ai.prompt.name"}

_ids: random.Random | None = None


def _new_id() -> str:
    # Seeded on first use, never at import: a Worker's memory snapshot must hold no entropy.
    # Correlation ids need to be unique, not secret.
    global _ids
    if _ids is None:
        _ids = random.Random()
    return format(_ids.getrandbits(64), "016x")


@dataclass(slots=True)
class Outcome:
    """How a request ended: what the edge knew of it (``info``, None if it was refused
    before), the JSON-RPC response that went out (None for 202 and bare streams), its HTTP
    status, whether the client cancelled it, and a tool's failure its result hides."""

    info: RequestInfo | None = None
    response: dict[str, Any] | None = None
    status: int = 500
    cancelled: bool = False
    failure: str | None = None


class Observer:
    """What an app observes with: its telemetry, its audit log (None when off) and the
    audit summaries each tool declares."""

    def __init__(self, telemetry: Telemetry, audit: AuditLog | None,
                 summaries: Callable[[str], dict[str, Summary] | None]) -> None:
        self.telemetry = telemetry
        self.audit = audit
        self.summaries = summaries

    def start(self, method: str, params: dict[str, Any], request_id: Any, headers: dict[str, str],
              correlation_id: str | None = None) -> "Observation":
        return Observation(self, method, params, request_id, headers, correlation_id)


class Observation:
    __slots__ = ("arguments", "correlation_id", "header", "method", "observer", "request_id", "span",
                 "started", "target", "token", "trace_id")

    def __init__(self, observer: Observer, method: str, params: dict[str, Any], request_id: Any,
                 headers: dict[str, str], correlation_id: str | None = None) -> None:
        self.observer = observer
        self.started = time.perf_counter()
        self.method = method
        self.request_id = request_id
        target = params.get("name") if method in NAMED else None
        self.target = target if isinstance(target, str) else None
        arguments = params.get("arguments") if method == "tools/call" else None
        self.arguments = arguments if isinstance(arguments, dict) else {}
        self.span: Any = None
        self.token: Any = None
        telemetry = observer.telemetry
        if telemetry.tracer() is not None:
            attributes: dict[str, Any] = {"mcp.method.name": method, "network.transport": "tcp"}
            if request_id is not None:
                attributes["jsonrpc.request.id"] = str(request_id)
            if self.target is not None:
                attributes[NAMED[method]] = self.target
                if method == "tools/call":
                    attributes["gen_ai.operation.name"] = "execute_tool"
            if method in ("resources/read", "resources/subscribe", "resources/unsubscribe") and isinstance(
                    params.get("uri"), str):
                attributes["mcp.resource.uri"] = params["uri"]
            name = f"{method} {self.target}" if self.target else method
            self.span, self.token = telemetry.start_server_span(name, attributes, headers, params.get("_meta"))
        # The span's trace; without one (no SDK here), the caller's, from its traceparent.
        self.trace_id = (telemetry.trace_id(self.span) if self.span is not None
                         else caller_trace_id(params.get("_meta"), headers))
        # Given (the edge's, on a core), else the trace id, else a new one.
        self.correlation_id = correlation_id or self.trace_id or _new_id()
        self.header = (CORRELATION_HEADER, self.correlation_id.encode("ascii"))

    def stamp(self, response: dict[str, Any]) -> None:
        """Put the correlation id where a user can read it back: a tool result's ``_meta``."""
        if self.method == "tools/call":
            result = response.get("result")
            if isinstance(result, dict):
                result.setdefault("_meta", {})[CORRELATION_ID] = self.correlation_id

    async def end(self, outcome: Outcome) -> None:
        elapsed = time.perf_counter() - self.started
        kind, error_type, message = self._classify(outcome)
        info = outcome.info
        version = info.protocol_version if info is not None else None
        telemetry = self.observer.telemetry
        histogram = telemetry.duration()
        if histogram is not None:
            measured: dict[str, Any] = {"mcp.method.name": self.method, "network.transport": "tcp"}
            if version:
                measured["mcp.protocol.version"] = version
            if self.target is not None:
                measured[NAMED[self.method]] = self.target
            if error_type is not None:
                measured["error.type"] = error_type
            histogram.record(elapsed, measured)
        if self.span is not None:
            # Only what the start did not know: each attribute costs the SDK a validation.
            learned: dict[str, Any] = {"edgemcp.outcome": kind}
            if version:
                learned["mcp.protocol.version"] = version
            if info is not None and info.session_id:
                learned["mcp.session.id"] = info.session_id
            if error_type is not None:
                learned["error.type"] = error_type
                response = outcome.response
                if response is not None and isinstance(response.get("error"), dict):
                    learned["rpc.response.status_code"] = str(response["error"].get("code"))
            telemetry.end_server_span(self.span, self.token, learned,
                                      message if error_type is not None else None)
        audit = self.observer.audit
        if audit is not None and (self.method == "tools/call" or kind in ("denied", "rate-limited")):
            pending = audit.submit(partial(self._record, audit, info, kind, error_type, elapsed,
                                           time.time()))
            if pending is not None:
                await pending

    @staticmethod
    def _classify(outcome: Outcome) -> tuple[str, str | None, str]:
        """(outcome, error.type, message) of the request."""
        if outcome.cancelled:
            return "cancelled", "cancelled", "cancelled by the client"
        response, status = outcome.response or {}, outcome.status
        error = response.get("error")
        if isinstance(error, dict):
            code, message = error.get("code"), str(error.get("message", ""))
            if code == RATE_LIMITED or status == 429:
                return "rate-limited", str(code), message
            if code in DENIED_CODES or status in (401, 403):
                return "denied", str(code), message
            if code == INTERNAL_ERROR or status >= 500:
                return "system-error", str(code), message
            return "invalid", str(code), message
        result = response.get("result")
        if not isinstance(result, dict):
            return "success", None, ""
        failure = outcome.failure
        if failure is not None:
            kind = "invalid" if failure == "invalid-arguments" else "system-error"
            return kind, failure, "tool failed" if kind == "system-error" else "invalid arguments"
        if result.get("isError"):
            return "business-error", "tool_error", "tool returned isError"
        if result.get("resultType") == "input_required":
            return "input-required", None, ""
        meta = result.get("_meta")
        if isinstance(meta, dict) and meta.get(CACHE) in CACHED:
            return "cache-hit", None, ""
        return "success", None, ""

    def _record(self, audit: AuditLog, info: RequestInfo | None, outcome: str, error_type: str | None,
                elapsed: float, at: float) -> dict[str, Any]:
        principal = info.principal if info is not None else None
        client = info.client_info if info is not None and isinstance(info.client_info, dict) else {}
        record: dict[str, Any] = {
            "time": iso_time(at),
            "event": self.method,
            "correlation_id": self.correlation_id,
            "trace_id": self.trace_id,
            "request_id": self.request_id,
            "agent_id": principal.agent_id or None if principal else None,
            "principal": principal.subject or None if principal else None,
            "tenant": principal.tenant or None if principal else None,
            "tool": self.target,
            "arguments": {"fingerprint": audit.fingerprint(self.arguments)},
            "latency_ms": round(elapsed * 1000, 3),
            "outcome": outcome,
            "error": error_type,
            "protocol_version": info.protocol_version if info is not None else None,
            "era": info.era if info is not None else None,
            "session_id": info.session_id if info is not None else None,
            "client": {"name": client.get("name"), "version": client.get("version")},
        }
        summaries = self.observer.summaries(self.target) if self.target else None
        if summaries:
            record["arguments"]["fields"] = audit.summarize(self.arguments, summaries)
        return record
