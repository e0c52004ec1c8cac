"""Secrets in e-mailed links (password reset, e-mail change, invitations): derived, never carried.

A link's token is HMAC-SHA256(key, purpose ‖ nonce), where the key is derived from SECRET_KEY and
the nonce is a random value stored on the row. The row also stores SHA-256(token) to find it
when the link is opened. The e-mail task re-derives the token from the row's id, so the token is
never in a job's arguments, a failed-job record or the admin's failed-jobs page (ADR 0018)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


@lru_cache(maxsize=4)
def _key(secret_key: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"pactline:secret-links").derive(
        secret_key.encode()
    )


def new_nonce() -> str:
    return secrets.token_urlsafe(32)


def derive_token(secret_key: str, purpose: str, nonce: str) -> str:
    """The token for a row: 43 URL-safe characters, the same every time it is asked for."""
    mac = hmac.new(_key(secret_key), f"{purpose}\x00{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def digest(token: str) -> str:
    """What is stored and looked up. Any string (NUL bytes, non-ASCII) hashes without error."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


# Where a link's secret sits in a URL: the segment after these paths ("resend" and numeric ids,
# e.g. /company/invitations/5/revoke, are not secrets), and these query parameters. An unsubscribe
# link's signed token is kept out of logs too: it works without signing in.
_SECRET_SEGMENT = re.compile(
    r"(/reset/|/invitations/|/settings/email/confirm/|/verify-email/|/quote/confirm/|/unsubscribe/)"
    r"(?!(?:resend|\d+)(?:[/?#&\s\"'<>]|$))([^/?#&\s\"'<>]+)"
)
_SECRET_SEGMENT_ENCODED = re.compile(
    r"(%2F(?:reset|invitations|settings%2Femail%2Fconfirm|verify-email|quote%2Fconfirm|unsubscribe)%2F)(?!(?:resend|\d+)(?:%2F|[&#\s]|$))([^&#\s%\"'<>]+)",
    re.IGNORECASE,
)
_SECRET_QUERY = re.compile(r"([?&](?:token|code|state|nonce)=)([^&#\s\"'<>]+)", re.IGNORECASE)
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """`text` with the secrets of links replaced: for access logs, failed-job records and pages."""
    text = _SECRET_SEGMENT.sub(lambda m: m.group(1) + REDACTED, text)
    text = _SECRET_SEGMENT_ENCODED.sub(lambda m: m.group(1) + REDACTED, text)
    return _SECRET_QUERY.sub(lambda m: m.group(1) + REDACTED, text)
