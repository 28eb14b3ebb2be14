"""The audit log: one structured record per tool call, and per denied or rate-limited attempt.

Arguments never appear in it. A keyed HMAC of their canonical JSON (the *fingerprint*)
lets an investigator tell whether two calls had the same arguments without seeing them,
and a tool may declare redacted per-field summaries (``@app.tool(audit={...})``).

Records go to a sink. The default writes one JSON line per record through stdlib logging
(logger ``edgemcp.audit``) to stdout, which on Cloudflare lands in Workers Logs; attach
your own handlers to that logger to send them elsewhere, or pass any object with a
``write(record)`` method (sync or async): the store, an HTTP collector.
"""

import asyncio
import hashlib
import hmac
import inspect
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from ..jsoncodec import canonical, dumps_lenient
from ..registry.policy import Summary

audit_log = logging.getLogger("edgemcp.audit")


class AuditSink(Protocol):
    """Where records go: ``write(record)``, sync or async. A sync sink may also offer
    ``write_many(records)`` for the records of one event-loop turn."""

    def write(self, record: dict[str, Any]) -> Any: ...


class JSONFormatter(logging.Formatter):
    """One JSON object per line: the audit record itself, or (for other records) time,
    level, logger and message."""

    def format(self, record: logging.LogRecord) -> str:
        audit = getattr(record, "audit", None)
        if isinstance(audit, dict):
            return dumps_lenient(audit)
        entry = {"time": iso_time(record.created), "level": record.levelname.lower(),
                 "logger": record.name, "message": record.getMessage()}
        return dumps_lenient(entry)


class LoggingSink:
    """Audit records through ``logging.getLogger("edgemcp.audit")``. If nothing is attached
    to that logger when the first record comes, a stdout handler with ``JSONFormatter``
    is, and the records do not also propagate to the root logger.

    While that default handler is the logger's only one, records skip the LogRecord (and
    its walk up the stack for a caller), which would cost more than the tool call itself:
    the records of one event-loop turn are encoded and written to the handler's stream in
    one go, so a burst of calls costs one write to stdout."""

    def __init__(self, logger: logging.Logger = audit_log) -> None:
        self.logger = logger
        self._ready = False
        self._default: logging.StreamHandler[Any] | None = None

    def _setup(self) -> None:
        self._ready = True
        if not self.logger.handlers:
            self._default = logging.StreamHandler(sys.stdout)
            self._default.setFormatter(JSONFormatter())
            self.logger.addHandler(self._default)
            self.logger.propagate = False
        if self.logger.level == logging.NOTSET:
            self.logger.setLevel(logging.INFO)

    def write(self, record: dict[str, Any]) -> None:
        self.write_many([record])

    def write_many(self, records: list[dict[str, Any]]) -> None:
        if not self._ready:
            self._setup()
        logger = self.logger
        if not logger.isEnabledFor(logging.INFO):
            return
        default = self._default
        if default is not None and logger.handlers == [default] and not default.filters and not logger.filters:
            lines = "".join([dumps_lenient(record) + "\n" for record in records])
            with default.lock:  # type: ignore[union-attr]
                default.stream.write(lines)
                default.stream.flush()
            return
        for record in records:
            logger.handle(logger.makeRecord(logger.name, logging.INFO, "", 0, record["event"], (), None,
                                            extra={"audit": record}))


class AuditLog:
    """Builds and writes audit records. ``key`` keys the argument fingerprints (derived
    from the app secret, so fingerprints match across replicas and stay unguessable)."""

    def __init__(self, sink: AuditSink, key: bytes) -> None:
        self.sink = sink
        self._awaits = inspect.iscoroutinefunction(getattr(sink, "write", None))
        self._write_many = getattr(sink, "write_many", None)
        self._pads = _hmac_pads(key)
        self._queue: list[Callable[[], dict[str, Any]]] = []

    def fingerprint(self, value: Any) -> str:
        inner_pad, outer_pad = self._pads
        inner = inner_pad.copy()
        inner.update(canonical(value))
        outer = outer_pad.copy()
        outer.update(inner.digest())
        return "hmac-sha256:" + outer.hexdigest()[:32]

    def summarize(self, arguments: dict[str, Any], summaries: dict[str, Summary]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, how in summaries.items():
            if name not in arguments:
                continue
            value = arguments[name]
            if callable(how):
                out[name] = how(value)
            elif how == "keep":
                out[name] = value
            elif how == "length":
                out[name] = len(value) if hasattr(value, "__len__") else None
            elif how == "last4":
                out[name] = "…" + str(value)[-4:]
            elif how == "type":
                out[name] = type(value).__name__
            else:  # "fingerprint"
                out[name] = self.fingerprint(value)
        return out

    def submit(self, build: Callable[[], dict[str, Any]]) -> Awaitable[None] | None:
        """Record one call; ``build`` makes its record. An async sink gets it at once (the
        caller awaits what this returns). For a sync sink, the records of this event-loop
        turn are built and written together at its end, in one pass that keeps the hot
        path short. Never fails the request: a broken sink is logged (without the record)."""
        if self._awaits:
            return self._write_async(build)
        self._queue.append(build)
        if len(self._queue) == 1:
            try:
                asyncio.get_running_loop().call_soon(self.drain)
            except RuntimeError:  # no event loop: now
                self.drain()
        return None

    def drain(self) -> None:
        """Build and write what is queued (runs by itself at the end of each loop turn)."""
        queue, self._queue = self._queue, []
        try:
            records = [build() for build in queue]
            if self._write_many is not None:
                self._write_many(records)
            else:
                for record in records:
                    self.sink.write(record)
        except Exception as exc:
            _sink_failed(exc)

    async def _write_async(self, build: Callable[[], dict[str, Any]]) -> None:
        try:
            await self.sink.write(build())
        except Exception as exc:
            _sink_failed(exc)


def _sink_failed(exc: Exception) -> None:
    logging.getLogger("edgemcp").error("audit sink failed: %s", type(exc).__name__)


def _hmac_pads(key: bytes) -> tuple["hashlib._Hash", "hashlib._Hash"]:
    """HMAC-SHA256 (RFC 2104) with both padded keys already hashed in: a fingerprint then
    costs two state copies. ``hmac.new(...).copy()`` gives the same digest at about 1.6
    times the cost (it copies OpenSSL's HMAC context), on a path run once per tool call."""
    block = key if len(key) <= 64 else hashlib.sha256(key).digest()
    block = block.ljust(64, b"\0")
    return (hashlib.sha256(bytes(b ^ 0x36 for b in block)),
            hashlib.sha256(bytes(b ^ 0x5C for b in block)))


def derive_key(secret: str | bytes) -> bytes:
    return hmac.digest(secret.encode() if isinstance(secret, str) else secret, b"edgemcp.audit", hashlib.sha256)


_second: tuple[int, str] = (-1, "")
_millisecond: tuple[int, str] = (-1, "")


def iso_time(t: float) -> str:
    # Under load many records share a millisecond, and the date changes once a second:
    # each is formatted once.
    global _second, _millisecond
    millis = int(t * 1000)
    if _millisecond[0] == millis:
        return _millisecond[1]
    whole = millis // 1000
    if _second[0] != whole:
        _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    _millisecond = (millis, f"{_second[1]}.{millis % 1000:03d}Z")
    return _millisecond[1]


