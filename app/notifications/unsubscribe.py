"""Signed unsubscribe links (RFC 8058): a token names one person and one kind (or "all", the
digest) and an expiry, and carries an HMAC made with a key derived from SECRET_KEY. Nothing is
stored; a link works without signing in and stops working after `LIFETIME`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

LIFETIME_SECONDS = 90 * 24 * 3600
ALL = "all"
MAX_TOKEN_LENGTH = 300


class BadLink(ValueError):
    """Forged, damaged or expired: the page says so and nothing changes."""


@dataclass(frozen=True)
class Unsubscribe:
    user_id: int
    kind: str
    expires: int


@lru_cache(maxsize=4)
def _key(secret_key: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"pactline:unsubscribe").derive(
        secret_key.encode()
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _mac(secret_key: str, payload: str) -> str:
    return _b64(hmac.new(_key(secret_key), payload.encode(), hashlib.sha256).digest())


def make_token(secret_key: str, user_id: int, kind: str, *, now: float | None = None) -> str:
    expires = int(now if now is not None else time.time()) + LIFETIME_SECONDS
    payload = f"{user_id}.{kind}.{expires}"
    return f"{_b64(payload.encode())}.{_mac(secret_key, payload)}"


def read_token(secret_key: str, token: str, *, now: float | None = None) -> Unsubscribe:
    """The person and kind a token names; BadLink for anything else (any string is safe here)."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise BadLink("not a link of ours")
    encoded, _, mac = token.partition(".")
    try:
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        raise BadLink("not a link of ours") from None
    if not hmac.compare_digest(_mac(secret_key, payload), mac):
        raise BadLink("the signature does not match")
    user_part, _, rest = payload.partition(".")
    kind, _, expires_part = rest.rpartition(".")
    if not (user_part.isdigit() and expires_part.isdigit() and kind):
        raise BadLink("not a link of ours")
    expires = int(expires_part)
    if (now if now is not None else time.time()) > expires:
        raise BadLink("the link has expired")
    return Unsubscribe(user_id=int(user_part), kind=kind, expires=expires)


def unsubscribe_path(token: str) -> str:
    return f"/unsubscribe/{token}"


def list_unsubscribe_headers(url: str) -> dict[str, str]:
    """RFC 8058: mail programs offer "Unsubscribe" and POST `List-Unsubscribe=One-Click` to `url`."""
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
