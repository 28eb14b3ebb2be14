"""One MCP request as the operator sees it: its span, its duration, its correlation id and,
for tool calls and refused attempts, its audit record.

The transport starts an ``Observation`` once it knows the method, stamps the correlation
id on the response (``X-Correlation-Id``, and ``_meta`` of a tool result), and ends it
after the response went out, so neither the audit sink nor the exporter adds latency.
"""

import random
import time
from functools import partial
from typing import TYPE_CHECKING, Any

from .audit import iso_time
from .cache import CACHE_META
from .errors import FORBIDDEN, INTERNAL_ERROR, RATE_LIMITED, TOOL_DISABLED, UNAUTHENTICATED
from .tools import META_PREFIX

if TYPE_CHECKING:
    from .app import EdgeMCP
    from .audit import AuditLog
    from .context import RequestInfo

CORRELATION_HEADER = b"x-correlation-id"
CORRELATION_META = f"{META_PREFIX}correlationId"
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


class Observation:
    __slots__ = ("app", "arguments", "cancelled", "correlation_id", "header", "info", "method",
                 "request_id", "response", "span", "started", "status", "target", "token", "trace_id")

    def __init__(self, app: "EdgeMCP", method: str, params: dict[str, Any], request_id: Any,
                 headers: dict[str, str]) -> None:
        self.app = app
        self.started = time.perf_counter()
        self.method = method
        self.request_id = request_id
        self.info: RequestInfo | None = None
        # What went out, set by the transport: the JSON-RPC response (None for 202 and
        # streams without one), its HTTP status, and whether the client cancelled.
        self.response: dict[str, Any] | None = None
        self.status = 500
        self.cancelled = False
        target = params.get("name") if method in NAMED else None
        self.target = target if isinstance(target, str) else None
        arguments = params.get("arguments") if method == "tools/call" else None
        self.arguments = arguments if isinstance(arguments, dict) else {}
        self.span: Any = None
        self.token: Any = None
        telemetry = app.telemetry
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
        self.trace_id = telemetry.trace_id(self.span) if self.span is not None else None
        self.correlation_id = self.trace_id or _new_id()
        self.header = (CORRELATION_HEADER, self.correlation_id.encode("ascii"))

    def stamp(self, response: dict[str, Any]) -> None:
        """Put the correlation id where a user can read it back: a tool result's ``_meta``."""
        if self.method == "tools/call":
            result = response.get("result")
            if isinstance(result, dict):
                result.setdefault("_meta", {})[CORRELATION_META] = self.correlation_id

    async def end(self) -> None:
        elapsed = time.perf_counter() - self.started
        response = self.response
        outcome, error_type, message = self._outcome()
        info = self.info
        version = info.protocol_version if info is not None else None
        telemetry = self.app.telemetry
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
            learned: dict[str, Any] = {"edgemcp.outcome": outcome}
            if version:
                learned["mcp.protocol.version"] = version
            if info is not None and info.session_id:
                learned["mcp.session.id"] = info.session_id
            if error_type is not None:
                learned["error.type"] = error_type
                if response is not None and isinstance(response.get("error"), dict):
                    learned["rpc.response.status_code"] = str(response["error"].get("code"))
            telemetry.end_server_span(self.span, self.token, learned,
                                      message if error_type is not None else None)
        audit = self.app.runtime.audit
        if audit is not None and (self.method == "tools/call" or outcome in ("denied", "rate-limited")):
            pending = audit.submit(partial(self._record, audit, outcome, error_type, elapsed, version,
                                           time.time()))
            if pending is not None:
                await pending

    def _outcome(self) -> tuple[str, str | None, str]:
        """(outcome, error.type, message) of the request."""
        if self.cancelled:
            return "cancelled", "cancelled", "cancelled by the client"
        response, status = self.response or {}, self.status
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
        failure = self.info.failure if self.info is not None else None
        if failure is not None:
            kind = "invalid" if failure == "invalid-arguments" else "system-error"
            return kind, failure, "tool failed" if kind == "system-error" else "invalid arguments"
        if result.get("isError"):
            return "business-error", "tool_error", "tool returned isError"
        if result.get("resultType") == "input_required":
            return "input-required", None, ""
        meta = result.get("_meta")
        if isinstance(meta, dict) and meta.get(CACHE_META) in CACHED:
            return "cache-hit", None, ""
        return "success", None, ""

    def _record(self, audit: "AuditLog", outcome: str, error_type: str | None, elapsed: float,
                version: str | None, at: float) -> dict[str, Any]:
        info = self.info
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
            "protocol_version": version,
            "era": info.era if info is not None else None,
            "session_id": info.session_id if info is not None else None,
            "client": {"name": client.get("name"), "version": client.get("version")},
        }
        tool = self.app.tools.get(self.target) if self.target else None
        if tool is not None and tool.audit:
            record["arguments"]["fields"] = audit.summarize(self.arguments, tool.audit)
        return record
