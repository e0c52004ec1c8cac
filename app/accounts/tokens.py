"""Tokens sent by e-mail: signed, expiring links (verification) and stored, single-use ones (reset,
e-mail change) whose secret is derived from the row when the e-mail is sent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import OneTimeToken, TokenPurpose
from app.db import utcnow
from app.platform.secret_links import derive_token, digest, new_nonce

VERIFY_MAX_AGE = 3 * 24 * 3600


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="pactline:verify-email")


def make_verification_token(secret_key: str, user_id: int, email: str) -> str:
    return _serializer(secret_key).dumps({"uid": user_id, "email": email})


def read_verification_token(secret_key: str, token: str) -> tuple[dict[str, Any] | None, str | None]:
    """(payload, None) when valid; (None, "expired" | "invalid") otherwise."""
    try:
        payload = _serializer(secret_key).loads(token, max_age=VERIFY_MAX_AGE)
    except SignatureExpired:
        return None, "expired"
    except (BadSignature, UnicodeError):
        return None, "invalid"
    if (
        not isinstance(payload, dict)
        or not isinstance(payload.get("uid"), int)
        or not isinstance(payload.get("email"), str)
    ):
        return None, "invalid"
    return payload, None


async def issue_one_time_token(
    session: AsyncSession,
    secret_key: str,
    user_id: int,
    purpose: TokenPurpose,
    lifetime: timedelta,
    data: dict[str, Any] | None = None,
) -> OneTimeToken:
    """A new token row (flushed, so it has an id for the e-mail job). Only the token's hash and
    the nonce it is derived from are stored; `token_of` gives the secret back to the sender.
    Earlier unused ones of the same purpose stop working."""
    await session.execute(
        update(OneTimeToken)
        .where(OneTimeToken.user_id == user_id, OneTimeToken.purpose == purpose, OneTimeToken.used_at.is_(None))
        .values(used_at=utcnow())
    )
    nonce = new_nonce()
    row = OneTimeToken(
        user_id=user_id,
        purpose=purpose,
        token_hash=digest(derive_token(secret_key, purpose, nonce)),
        nonce=nonce,
        expires_at=utcnow() + lifetime,
        data=data or {},
    )
    session.add(row)
    await session.flush()
    return row


def token_of(secret_key: str, row: OneTimeToken) -> str | None:
    """The secret of the e-mailed link (None for rows made before tokens were derived)."""
    return derive_token(secret_key, row.purpose, row.nonce) if row.nonce else None


def is_usable(row: OneTimeToken) -> bool:
    return row.used_at is None and row.expires_at > utcnow()


async def find_one_time_token(
    session: AsyncSession, token: str, purpose: TokenPurpose, *, lock: bool = False
) -> OneTimeToken | None:
    """The token's row when it exists, is of this purpose, unused and unexpired."""
    query = select(OneTimeToken).where(
        OneTimeToken.token_hash == digest(token),
        OneTimeToken.purpose == purpose,
        OneTimeToken.used_at.is_(None),
        OneTimeToken.expires_at > utcnow(),
    )
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)
