"""JSON on the wire: orjson when it is installed (the ``server`` extra), else the stdlib.

orjson encodes and parses several times faster, which matters on a path that does little
else. Whatever it refuses (integers beyond 64 bits, dict keys that are not strings, NaN
literals) goes to the stdlib, so both give the same answers; only the spelling of a few
floats differs (``1e16`` against ``1e+16``), which JSON treats as the same number.
"""

import json
from typing import Any

try:
    import orjson
except ImportError:  # Pyodide (Workers) and minimal installs
    orjson = None  # type: ignore[assignment]

_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_encode_lenient = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str).encode
_encode_canonical = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                     default=str).encode
_decode = json.JSONDecoder().decode


def dumps(value: Any) -> bytes:
    if orjson is not None:
        try:
            return orjson.dumps(value)
        except TypeError:  # orjson.JSONEncodeError: let the stdlib decide
            pass
    return _encode(value).encode()


def dumps_lenient(value: Any) -> str:
    """For logs: anything JSON cannot hold becomes its ``str``."""
    if orjson is not None:
        try:
            return orjson.dumps(value, default=str).decode()
        except TypeError:
            pass
    return _encode_lenient(value)


def canonical(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8; anything JSON cannot hold as its ``str``. (orjson
    and the stdlib spell a few floats differently, ``1e-07`` against ``1e-7``.)"""
    if orjson is not None:
        try:
            return orjson.dumps(value, default=str, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            pass
    return _encode_canonical(value).encode()


def loads(data: bytes) -> Any:
    """Parse a request body. Raises ``ValueError`` (or ``RecursionError``) if it is not JSON."""
    if orjson is not None:
        try:
            return orjson.loads(data)
        except ValueError:  # orjson.JSONDecodeError; perhaps JSON orjson does not take
            pass
    return _decode(data.decode("utf-8"))  # RFC 8259: JSON on the wire is UTF-8
