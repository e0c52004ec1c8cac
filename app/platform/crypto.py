"""Encrypting small secrets at rest (TOTP seeds) with a key derived from SECRET_KEY, and comparing
secrets that arrive with a request."""

from __future__ import annotations

import base64
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


@lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"pactline:secrets-at-rest").derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(secret_key: str, value: str) -> str:
    return _fernet(secret_key).encrypt(value.encode()).decode()


def decrypt(secret_key: str, token: str) -> str:
    try:
        return _fernet(secret_key).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("secret could not be decrypted (was SECRET_KEY changed?)") from exc


def same_secret(known: str | bytes, given: str | bytes) -> bool:
    """Constant-time equality for a secret someone sent (a token, a signature, an OAuth state).
    Compares bytes: `hmac.compare_digest` raises TypeError on a `str` with non-ASCII characters,
    and whatever a request carries must get a plain "no", never an error."""
    return hmac.compare_digest(_as_bytes(known), _as_bytes(given))


def _as_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
