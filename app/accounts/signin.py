"""Signing in: the password step, the second step (authenticator or recovery code) and the
step-up confirmation before sensitive changes. Each verb counts its attempt first, decides, and
gives the count back on success (only failures count, DESIGN §5); a failure is recorded as a
hashed failed-sign-in row, never as an account event. The session itself (rotation, the pending
second step) is the caller's: these verbs say what it should hold."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import mfa, services
from app.accounts.audit import Origin, record_event, record_failed_sign_in
from app.accounts.forms import ConfirmInput, SecondStepInput, SignInInput
from app.accounts.limits import MFA_PER_USER, SIGN_IN_PER_IP, SIGN_IN_PER_PAIR, TooManyAttempts
from app.accounts.models import User
from app.accounts.passwords import verify_password_async
from app.errors import FormError
from app.web.ratelimit import RateLimiter

MFA_PENDING_SECONDS = 10 * 60
NO_MATCH = "That e-mail and password don't match an account. Check them and try again."
SUSPENDED = (
    "Your account is suspended, so you were signed out. If you think this is a mistake, write to support@pactline.test."
)
WRONG_CODE = "That code is not right. Enter the 6 digits your app shows now."


@dataclass(frozen=True)
class SignInOutcome:
    user: User
    second_step: bool  # the password was right; not signed in until the code passes


async def sign_in(db: AsyncSession, limits: RateLimiter, entry: SignInInput, origin: Origin) -> SignInOutcome:
    """Check an e-mail and password. Raises TooManyAttempts (nothing counted), or FormError for a
    wrong pair (the attempt stays counted and a failed-sign-in row is kept) or a suspended account."""
    normalized = services.normalize_email(entry.email)
    attempt = await limits.attempt((SIGN_IN_PER_PAIR, f"{origin.ip}|{normalized}"), (SIGN_IN_PER_IP, origin.ip))
    if not attempt.allowed:
        raise TooManyAttempts(attempt.verdict)
    user = await services.authenticate(db, entry.email, entry.password)
    if user is None:
        # Not an account event: anyone can cause any number of these.
        known = await services.get_user_by_email(db, entry.email)
        await record_failed_sign_in(
            db, normalized_email=normalized, step="password", user_id=known.id if known else None, request=origin
        )
        await db.commit()
        raise FormError({"form": [NO_MATCH]})
    await limits.forgive(attempt)
    if not user.is_active:
        raise FormError({"form": [SUSPENDED]})
    if user.mfa_enabled_at is None:
        await record_event(db, "signed_in", user_id=user.id, request=origin, method="password")
    await db.commit()  # also keeps a rehashed password, if the parameters changed
    return SignInOutcome(user, second_step=user.mfa_enabled_at is not None)


def awaiting_second_step(user: User, *, remember: bool, next: str, method: str | None = None) -> dict[str, Any]:
    """What the session holds between a right first step (password, or a provider) and the code."""
    pending: dict[str, Any] = {
        "mfa_pending_uid": user.id,
        "mfa_pending_at": int(time.time()),
        "remember": remember,
        "next": next,
    }
    if method is not None:
        pending["method"] = method
    return pending


async def second_step_user(db: AsyncSession, session: dict[str, Any], viewer: User | None) -> User | None:
    """The user being asked for a code: pending after a first step, or signed in without MFA yet."""
    if pending := session.get("mfa_pending_uid"):
        if time.time() - int(session.get("mfa_pending_at", 0)) > MFA_PENDING_SECONDS:
            return None
        return await db.get(User, int(pending))
    return viewer if viewer is not None and viewer.mfa_enabled_at is not None else None


async def pass_second_step(
    db: AsyncSession,
    limits: RateLimiter,
    user: User,
    entry: SecondStepInput,
    *,
    secret_key: str,
    first_step: str,
    origin: Origin,
) -> None:
    """Check an authenticator code (its time step is spent by compare-and-set) or a recovery code
    (spent too). Raises TooManyAttempts, or FormError after recording the failure."""
    attempt = await limits.attempt((MFA_PER_USER, str(user.id)))
    if not attempt.allowed:
        raise TooManyAttempts(attempt.verdict)
    secret = mfa.user_secret(user, secret_key)
    ok, method, checked = False, "totp", mfa.CodeCheck.wrong
    if entry.recovery_code:
        ok, method = await mfa.use_recovery_code(db, user, entry.recovery_code), "recovery_code"
    elif entry.code and secret:
        checked = await mfa.accept_code(db, user, secret, entry.code)
        ok = checked is mfa.CodeCheck.accepted
    if not ok:
        # A replayed code (seen over a shoulder, or phished) is kept apart from a mistyped one.
        step = "totp_reused" if checked is mfa.CodeCheck.reused else method
        await record_failed_sign_in(
            db, normalized_email=services.normalize_email(user.email), step=step, user_id=user.id, request=origin
        )
        await db.commit()
        if entry.recovery_code:
            raise FormError({"recovery_code": ["That recovery code is not valid or was already used."]})
        raise FormError({"code": [mfa.REUSED_MESSAGE if checked is mfa.CodeCheck.reused else WRONG_CODE]})
    await limits.forgive(attempt)
    await record_event(db, "signed_in", user_id=user.id, request=origin, method=f"{first_step}+{method}")
    await db.commit()


async def confirm_identity(
    db: AsyncSession, limits: RateLimiter, user: User, entry: ConfirmInput, *, secret_key: str
) -> None:
    """Sensitive changes ask again: the authenticator code when two-step is on, else the password.
    Raises TooManyAttempts or FormError; on success the code's time step is spent."""
    attempt = await limits.attempt((MFA_PER_USER, str(user.id)))
    if not attempt.allowed:
        raise TooManyAttempts(attempt.verdict)
    checked = mfa.CodeCheck.wrong
    if user.mfa_enabled_at is not None:
        secret = mfa.user_secret(user, secret_key)
        if secret:
            checked = await mfa.accept_code(db, user, secret, entry.code)
        if checked is not mfa.CodeCheck.accepted:
            reused = checked is mfa.CodeCheck.reused
            raise FormError({"code": [mfa.REUSED_MESSAGE if reused else "That code is not right."]})
    elif not await verify_password_async(user.password_hash, entry.password):
        raise FormError({"password": ["That is not your password."]})
    await db.commit()  # the code's time step is spent
    await limits.forgive(attempt)
