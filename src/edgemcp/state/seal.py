"""Authenticated encryption from the standard library, for what the store must hold but
not show: a task's arguments and answers.

Why not AES-GCM: it needs ``cryptography``, which is not a core dependency and has no
wheel for the Pyodide platform a Worker runs on. So: encrypt-then-MAC from ``hashlib``
and ``hmac``, which both CPython and Pyodide build in.

- Keys: two 32-byte keys derived from the app secret with HMAC-SHA256, one per purpose
  label, so no other use of the secret (session ids, request state) shares a key.
- Encryption: the plaintext XORed with a SHAKE-256 keystream of the encryption key and a
  fresh 16-byte random nonce (a keyed sponge is a pseudorandom function; a new nonce per
  message means a keystream is never reused).
- Integrity: HMAC-SHA256 over the version, the nonce, the associated data (what the
  sealed value belongs to, such as a task id and its owner) and the ciphertext; checked
  in constant time before anything is decrypted.

A sealed value reveals its length, nothing else; a tampered one, one sealed with another
secret or one moved to another record does not open.
"""

import hashlib
import hmac
import secrets

VERSION = b"\x01"
NONCE = 16
TAG = 32


class Sealer:
    def __init__(self, secret: str | bytes, purpose: str) -> None:
        root = secret.encode() if isinstance(secret, str) else secret
        self._encrypt_key = hmac.digest(root, f"edgemcp.{purpose}.encrypt".encode(), "sha256")
        self._mac_key = hmac.digest(root, f"edgemcp.{purpose}.mac".encode(), "sha256")

    def _keystream(self, nonce: bytes, length: int) -> bytes:
        return hashlib.shake_256(self._encrypt_key + nonce).digest(length)

    def _tag(self, nonce: bytes, associated: bytes, ciphertext: bytes) -> bytes:
        framed = VERSION + nonce + len(associated).to_bytes(4, "big") + associated + ciphertext
        return hmac.digest(self._mac_key, framed, "sha256")

    def seal(self, plaintext: bytes, associated: bytes = b"") -> bytes:
        nonce = secrets.token_bytes(NONCE)
        ciphertext = _xor(plaintext, self._keystream(nonce, len(plaintext)))
        return VERSION + nonce + self._tag(nonce, associated, ciphertext) + ciphertext

    def open(self, sealed: bytes, associated: bytes = b"") -> bytes | None:
        """The plaintext, or None if ``sealed`` was not sealed here for ``associated``."""
        if len(sealed) < 1 + NONCE + TAG or sealed[:1] != VERSION:
            return None
        nonce, tag, ciphertext = sealed[1:1 + NONCE], sealed[1 + NONCE:1 + NONCE + TAG], sealed[1 + NONCE + TAG:]
        if not hmac.compare_digest(tag, self._tag(nonce, associated, ciphertext)):
            return None
        return _xor(ciphertext, self._keystream(nonce, len(ciphertext)))


def _xor(data: bytes, stream: bytes) -> bytes:
    # One big-integer XOR: far faster in CPython than a byte-by-byte loop.
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(len(data), "big")
