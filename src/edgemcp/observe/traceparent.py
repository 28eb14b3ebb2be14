"""The caller's trace id from a W3C ``traceparent`` (Trace Context, level 1), read without
OpenTelemetry: so an audit record and its correlation id join the caller's trace even
when no SDK runs in this process.

``version-traceid-parentid-flags``: two, 32, 16 and two lower-case hex digits. Version
``ff`` is invalid, and so is an all-zero trace id or parent id. A later version may add
fields after the flags (behind a dash); version ``00`` may not.
"""

_HEX = frozenset("0123456789abcdef")
_ZERO_TRACE = "0" * 32
_ZERO_PARENT = "0" * 16


def trace_id_of(value: object) -> str | None:
    """The trace id a ``traceparent`` value carries, or None when it is not a valid one."""
    if not isinstance(value, str) or len(value) < 55:
        return None
    if value[2] != "-" or value[35] != "-" or value[52] != "-":
        return None
    version, trace_id, parent_id, flags = value[:2], value[3:35], value[36:52], value[53:55]
    if not _HEX.issuperset(version + trace_id + parent_id + flags) or version == "ff":
        return None
    if len(value) > 55 and (version == "00" or value[55] != "-"):
        return None
    if trace_id == _ZERO_TRACE or parent_id == _ZERO_PARENT:
        return None
    return trace_id


def caller_trace_id(meta: object, headers: dict[str, str]) -> str | None:
    """The trace the request belongs to: ``params._meta.traceparent`` (the MCP request's own
    context) when valid, else the HTTP ``traceparent`` header; as the OpenTelemetry span
    would take its parent."""
    if isinstance(meta, dict) and "traceparent" in meta:
        found = trace_id_of(meta["traceparent"])
        if found is not None:
            return found
    return trace_id_of(headers.get("traceparent"))
