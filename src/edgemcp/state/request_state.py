"""Sealed MRTR ``requestState``: answers from earlier rounds, bound to who asked for what.

The state travels through the client, so it is attacker-controlled input. itsdangerous
signs it (HMAC) with a timestamp; the payload binds the principal and a digest of the
original request (``protocol.mrtr.request_digest``). A tampered, expired or
replayed-elsewhere state is refused.
"""

from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..protocol.errors import ErrorKind, MCPError, invalid_params


class RequestStateSealer:
    def __init__(self, secret: str | bytes, max_age: float = 900.0) -> None:
        self.max_age = int(max_age)
        self._serializer = URLSafeTimedSerializer(secret, salt="edgemcp.requestState")

    def seal(
        self, principal: str, digest: str, answers: dict[str, Any], state: dict[str, Any]
    ) -> str:
        return self._serializer.dumps({"p": principal, "d": digest, "a": answers, "s": state})

    def unseal(self, token: object, principal: str, digest: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Answers and tool state from a sealed token, or an ``MCPError`` saying why not."""
        if not isinstance(token, str):
            raise invalid_params("requestState must be a string")
        try:
            payload = self._serializer.loads(token, max_age=self.max_age)
        except SignatureExpired:
            raise _rejected("requestState has expired; start the request again") from None
        except BadSignature:
            raise _rejected("requestState failed verification") from None
        if payload.get("p") != principal:
            raise _rejected("requestState belongs to another principal")
        if payload.get("d") != digest:
            raise _rejected("requestState belongs to a different request")
        return dict(payload.get("a") or {}), dict(payload.get("s") or {})


def _rejected(message: str) -> MCPError:
    return invalid_params(message, kind=ErrorKind.BAD_REQUEST)
