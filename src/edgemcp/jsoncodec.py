"""JSON on the wire: orjson when it is installed (the ``server`` extra), else the stdlib.

orjson encodes and parses several times faster, which matters on a path that does little
else. Whatever it refuses (integers beyond 64 bits, dict keys that are not strings, NaN
literals), or would parse inexactly (see ``loads``), goes to the stdlib, so both give the
same answers; only the spelling of a few
floats differs (``1e16`` against ``1e+16``), which JSON treats as the same number.
"""

import json
import re
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
_DIGITS = b"0123456789"
_LONG_DIGITS = re.compile(rb"[0-9]{19}")


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
    """Parse a request body. Raises ``ValueError`` (or ``RecursionError``) if it is not JSON.

    orjson does not refuse an integer beyond 64 bits: it silently makes it a float (an id
    of 2**64 would become 1.8446744073709552e+19, an argument 123456789012345678901234567890
    would lose its last digits). A body with a run of 19 or more digits (what such an
    integer needs) goes to the stdlib, which keeps every integer exact; counting digits
    first keeps the usual body off the slower search."""
    if orjson is not None and not (len(data) - len(data.translate(None, _DIGITS)) >= 19
                                   and _LONG_DIGITS.search(data)):
        try:
            return orjson.loads(data)
        except ValueError:  # orjson.JSONDecodeError; perhaps JSON orjson does not take
            pass
    return _decode(data.decode("utf-8"))  # RFC 8259: JSON on the wire is UTF-8
