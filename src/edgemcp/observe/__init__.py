"""What the operator sees: OpenTelemetry spans and metrics, the audit log, one
``Observation`` per MCP request, and store spans."""

from .audit import AuditLog, AuditSink, JSONFormatter, LoggingSink
from .observation import Observation, Observer, Outcome
from .telemetry import Telemetry

__all__ = ["AuditLog", "AuditSink", "JSONFormatter", "LoggingSink", "Observation", "Observer", "Outcome",
           "Telemetry"]
