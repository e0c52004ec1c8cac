"""Tokens sent by e-mail: signed, expiring links (verification) and stored, single-use ones (reset)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import OneTimeToken, TokenPurpose
from app.db import utcnow

VERIFY_MAX_AGE = 3 * 24 * 3600


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="pactline:verify-email")


def make_verification_token(secret_key: str, user_id: int, email: str) -> str:
    return _serializer(secret_key).dumps({"uid": user_id, "email": email})


def read_verification_token(secret_key: str, token: str) -> tuple[dict[str, Any] | None, str | None]:
    """(payload, None) when valid; (None, "expired" | "invalid") otherwise."""
    try:
        return _serializer(secret_key).loads(token, max_age=VERIFY_MAX_AGE), None
    except SignatureExpired:
        return None, "expired"
    except BadSignature:
        return None, "invalid"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_one_time_token(
    session: AsyncSession, user_id: int, purpose: TokenPurpose, lifetime: timedelta, data: dict[str, Any] | None = None
) -> str:
    """Create a token and return it; only its hash is stored. Earlier unused ones of the same
    purpose stop working."""
    await session.execute(
        update(OneTimeToken)
        .where(OneTimeToken.user_id == user_id, OneTimeToken.purpose == purpose, OneTimeToken.used_at.is_(None))
        .values(used_at=utcnow())
    )
    token = secrets.token_urlsafe(32)
    session.add(
        OneTimeToken(
            user_id=user_id, purpose=purpose, token_hash=_digest(token), expires_at=utcnow() + lifetime, data=data or {}
        )
    )
    return token


async def find_one_time_token(
    session: AsyncSession, token: str, purpose: TokenPurpose, *, lock: bool = False
) -> OneTimeToken | None:
    """The token's row when it exists, is of this purpose, unused and unexpired."""
    query = select(OneTimeToken).where(
        OneTimeToken.token_hash == _digest(token),
        OneTimeToken.purpose == purpose,
        OneTimeToken.used_at.is_(None),
        OneTimeToken.expires_at > utcnow(),
    )
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)
