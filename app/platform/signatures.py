"""Signed webhooks, Stripe's scheme, for every provider that uses it (the KYC partner, the sandbox
payment provider, Stripe): `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>`.

One implementation, so a fix (the tolerance, a byte-safe comparison, several `v1` while a secret
is rolled) reaches every webhook at once."""

from __future__ import annotations

import hashlib
import hmac
import time

from app.platform.crypto import same_secret

TOLERANCE_SECONDS = 300


class BadSignature(ValueError):
    """The header is missing, malformed, too old, or signs something else: answer 400, change nothing."""


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value that signs `body` with `secret` (now, unless `timestamp` is given)."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={_digest(secret, t, body)}"


def verify(secret: str, body: bytes, header: str | None, *, now: float | None = None) -> None:
    """Raise BadSignature unless `header` signs `body` with `secret` within the tolerance. Any `v1`
    may match (a provider sends one per secret while a secret is rolled); other schemes are ignored."""
    if not secret or not header:
        raise BadSignature("missing signature")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value.strip())
    try:
        stamp = parts["t"][0]
        if not (stamp.isascii() and stamp.isdigit()) or len(stamp) > 12:
            raise ValueError(stamp)
        timestamp = int(stamp)
    except (KeyError, ValueError):
        raise BadSignature("no timestamp") from None
    if abs((time.time() if now is None else now) - timestamp) > TOLERANCE_SECONDS:
        raise BadSignature("timestamp outside the tolerance")
    expected = _digest(secret, timestamp, body)
    if not any(same_secret(expected, candidate) for candidate in parts.get("v1", [])):
        raise BadSignature("signature does not match")
