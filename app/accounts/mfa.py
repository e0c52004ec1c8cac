"""Two-step sign-in with TOTP (authenticator apps) and single-use recovery codes: the codes, and
the verbs that turn it on, renew the recovery codes and turn it off."""

from __future__ import annotations

import asyncio
import base64
import hmac
import io
import secrets
import time
from enum import StrEnum

import pyotp
import qrcode
import qrcode.image.svg
from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.audit import Origin, record_event
from app.accounts.emails import notify
from app.accounts.limits import MFA_PER_USER, too_many
from app.accounts.models import RecoveryCode, User
from app.accounts.passwords import hasher
from app.accounts.services import locked
from app.db import utcnow
from app.errors import DomainError, FormError
from app.platform import crypto
from app.web.ratelimit import RateLimiter

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


def matching_step(secret: str, code: str, *, now: float | None = None) -> int | None:
    """The 30-second time step whose code this is (within one step either side), or None."""
    code = "".join(ch for ch in code if ch in "0123456789")
    if len(code) != 6:
        return None
    generator = totp(secret)
    current = int((time.time() if now is None else now) // generator.interval)
    steps = [
        step
        for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1)
        if hmac.compare_digest(generator.generate_otp(step), code)
    ]
    return max(steps) if steps else None


def code_matches(secret: str, code: str) -> bool:
    return matching_step(secret, code) is not None


class CodeCheck(StrEnum):
    accepted = "accepted"
    wrong = "wrong"
    reused = "reused"  # right code, but it (or a later one) was already accepted


REUSED_MESSAGE = "That code was already used. Wait until your app shows a new code, then enter the new one."


async def accept_code(session: AsyncSession, user: User, secret: str, code: str) -> CodeCheck:
    """Check an authenticator code and spend its time step.

    A code is accepted only for a step later than the last accepted one, and the step is stored
    with a compare-and-set UPDATE: two requests racing with the same code both reach the UPDATE,
    the second waits for the first's row lock and then finds the step taken. The caller commits."""
    step = matching_step(secret, code)
    if step is None:
        return CodeCheck.wrong
    spent = await session.execute(
        update(User)
        .where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .returning(User.id)
        .execution_options(synchronize_session=False)
    )
    return CodeCheck.accepted if spent.scalar_one_or_none() is not None else CodeCheck.reused


def user_secret(user: User, secret_key: str) -> str | None:
    if not user.totp_secret_encrypted:
        return None
    return crypto.decrypt(secret_key, user.totp_secret_encrypted)


def _format_code(raw: str) -> str:
    return f"{raw[:5]}-{raw[5:]}"


def _normalise_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


async def enable(
    session: AsyncSession, user: User, secret: str, secret_key: str, *, confirmed_step: int | None = None
) -> list[str]:
    """Turn MFA on with a confirmed secret; returns the recovery codes to show once. The step of
    the code that confirmed it is spent, so that code cannot sign in a moment later."""
    user.totp_secret_encrypted = crypto.encrypt(secret_key, secret)
    user.mfa_enabled_at = utcnow()
    user.totp_last_step = confirmed_step
    return await regenerate_recovery_codes(session, user)


async def disable(session: AsyncSession, user: User) -> None:
    user.totp_secret_encrypted = None
    user.mfa_enabled_at = None
    user.totp_last_step = None
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


async def regenerate_recovery_codes(session: AsyncSession, user: User) -> list[str]:
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    codes = ["".join(secrets.choice(alphabet) for _ in range(10)) for _ in range(RECOVERY_CODES)]
    hashes = await asyncio.to_thread(lambda: [hasher().hash(code) for code in codes])
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
            if hasher().verify(code_hash, code):
                return index
        except Exception:  # noqa: BLE001,S112 — a mismatch raises; try the next code
            continue
    return None


async def remaining_recovery_codes(session: AsyncSession, user: User) -> int:
    rows = await session.scalars(
        select(RecoveryCode.id).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )
    return len(rows.all())


# ---------------------------------------------------------------- the verbs


async def confirm_enrolment(
    session: AsyncSession, limits: RateLimiter, user: User, secret: str, code: str, *, secret_key: str, origin: Origin
) -> list[str] | None:
    """Turn two-step sign-in on once a code from the new secret is right; returns the recovery
    codes to show once, or None when it is already on (a second tab, a double click). A wrong code
    or too many tries raise FormError (the setup page shows both next to the field)."""
    me = await locked(session, user)
    if me.mfa_enabled_at is not None:
        await session.rollback()
        return None
    attempt = await limits.attempt((MFA_PER_USER, str(me.id)))
    step = None
    if not attempt.allowed:
        error = too_many(attempt.verdict)
    elif (step := matching_step(secret, code)) is None:
        error = "That code is not right. Enter the 6 digits your app shows now."
    else:
        error = None
        await limits.forgive(attempt)
    if error:
        await session.rollback()
        raise FormError({"code": [error]})
    codes = await enable(session, me, secret, secret_key, confirmed_step=step)
    await record_event(session, "mfa_enabled", user_id=me.id, request=origin)
    notify(session, me, "mfa_enabled")
    await session.commit()
    return codes


async def renew_recovery_codes(session: AsyncSession, user: User, origin: Origin) -> list[str] | None:
    """A fresh set of recovery codes (the old ones stop working), or None when two-step is off."""
    me = await locked(session, user)
    if me.mfa_enabled_at is None:
        await session.rollback()
        return None
    codes = await regenerate_recovery_codes(session, me)
    await record_event(session, "mfa_recovery_codes_renewed", user_id=me.id, request=origin)
    await session.commit()
    return codes


async def turn_off(session: AsyncSession, user: User, origin: Origin) -> None:
    me = await locked(session, user)
    if me.is_admin:
        await session.rollback()
        raise DomainError("Admins must keep two-step sign-in on.")
    await disable(session, me)
    await record_event(session, "mfa_disabled", user_id=me.id, request=origin)
    notify(session, me, "mfa_disabled")
    await session.commit()
