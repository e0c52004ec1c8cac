"""Two-step sign-in with TOTP (authenticator apps) and single-use recovery codes."""

from __future__ import annotations

import asyncio
import base64
import io
import secrets

import pyotp
import qrcode
import qrcode.image.svg
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import RecoveryCode, User
from app.accounts.passwords import HASHER
from app.db import utcnow
from app.platform import crypto

ISSUER = "Pactline"
RECOVERY_CODES = 10
# One 30-second step either side tolerates a phone clock that is a little off.
VALID_WINDOW = 1


class _TOTP(pyotp.TOTP):
    """pyotp refuses secrets under 112 bits; the documented demo secret has 80. New secrets
    are always 160 bits (`new_secret`), so accepting shorter ones only serves existing seeds."""

    def byte_secret(self) -> bytes:
        secret = self.secret + "=" * (-len(self.secret) % 8)
        return base64.b32decode(secret, casefold=True)


def new_secret() -> str:
    return pyotp.random_base32(length=32)


def totp(secret: str) -> pyotp.TOTP:
    return _TOTP(secret)


def provisioning_uri(secret: str, email: str) -> str:
    return totp(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The otpauth:// URI as an inline SVG (paths only: no scripts, no style attributes)."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode()
    return svg[svg.index("<svg") :]


def code_matches(secret: str, code: str) -> bool:
    code = "".join(ch for ch in code if ch.isdigit())
    return len(code) == 6 and totp(secret).verify(code, valid_window=VALID_WINDOW)


def user_secret(user: User, secret_key: str) -> str | None:
    if not user.totp_secret_encrypted:
        return None
    return crypto.decrypt(secret_key, user.totp_secret_encrypted)


def _format_code(raw: str) -> str:
    return f"{raw[:5]}-{raw[5:]}"


def _normalise_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


async def enable(session: AsyncSession, user: User, secret: str, secret_key: str) -> list[str]:
    """Turn MFA on with a confirmed secret; returns the recovery codes to show once."""
    user.totp_secret_encrypted = crypto.encrypt(secret_key, secret)
    user.mfa_enabled_at = utcnow()
    return await regenerate_recovery_codes(session, user)


async def disable(session: AsyncSession, user: User) -> None:
    user.totp_secret_encrypted = None
    user.mfa_enabled_at = None
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


async def regenerate_recovery_codes(session: AsyncSession, user: User) -> list[str]:
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    codes = ["".join(secrets.choice(alphabet) for _ in range(10)) for _ in range(RECOVERY_CODES)]
    hashes = await asyncio.to_thread(lambda: [HASHER.hash(code) for code in codes])
    for code_hash in hashes:
        session.add(RecoveryCode(user_id=user.id, code_hash=code_hash))
    return [_format_code(code) for code in codes]


async def use_recovery_code(session: AsyncSession, user: User, code: str) -> bool:
    """True (and the code is spent) when it is one of the user's unused codes."""
    wanted = _normalise_code(code)
    if len(wanted) != 10:
        return False
    rows = (
        await session.scalars(
            select(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
            .with_for_update()
        )
    ).all()
    index = await asyncio.to_thread(_first_match, [row.code_hash for row in rows], wanted)
    if index is None:
        return False
    rows[index].used_at = utcnow()
    return True


def _first_match(hashes: list[str], code: str) -> int | None:
    for index, code_hash in enumerate(hashes):
        try:
            if HASHER.verify(code_hash, code):
                return index
        except Exception:  # noqa: BLE001,S112 — a mismatch raises; try the next code
            continue
    return None


async def remaining_recovery_codes(session: AsyncSession, user: User) -> int:
    rows = await session.scalars(
        select(RecoveryCode.id).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )
    return len(rows.all())
