"""Account rules: creating users, checking credentials, and the verbs of an account's life
(sign-up, address confirmation, password reset and change, name and e-mail changes). Each verb
takes typed input (`app.accounts.forms`), counts its rate limit first (where it has one), writes
the change with its audit event and outbox rows, and commits; a refusal raises `FormError`,
`TooManyAttempts` or a `DomainError` and leaves nothing behind. Signing in is in `signin.py`,
two-step sign-in in `mfa.py`."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.audit import Origin, record_event
from app.accounts.emails import notify, send_link, send_verification
from app.accounts.limits import PASSWORD_HINTS_PER_IP, RESET_PER_EMAIL, RESET_PER_IP, SIGN_UP_PER_IP, TooManyAttempts
from app.accounts.models import OAuthIdentity, OneTimeToken, Role, TokenPurpose, User, UserStatus
from app.accounts.passwords import hash_password_async, needs_rehash, verify_password_async
from app.accounts.passwords_policy import MAX_LENGTH, Strength, password_problems, strength_off_loop
from app.accounts.tokens import find_one_time_token, issue_one_time_token, read_verification_token
from app.db import utcnow
from app.errors import DomainError, FormError
from app.web.ratelimit import RateLimiter

if TYPE_CHECKING:
    from app.accounts.forms import (
        EmailInput,
        NameInput,
        NewPasswordInput,
        PasswordChangeInput,
        PasswordHintInput,
        SignUpInput,
        TimeZoneInput,
    )

# RFC 5321's longest deliverable address. Checked before anything else touches an address: it
# becomes a rate-limit subject, a query parameter and (for accounts) a row. The pattern's own
# lookahead gives up after 254 characters, so no caller can make it backtrack through megabytes.
MAX_EMAIL_LENGTH = 254
EMAIL_PATTERN = re.compile(r"^(?=.{3,254}$)[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]{2,}$")
EMAIL_TOO_LONG = f"Use an e-mail address of at most {MAX_EMAIL_LENGTH} characters."
EMAIL_MALFORMED = "Enter an e-mail address like name@example.com."


def has_control_characters(value: str) -> bool:
    """NUL cannot be stored, and no name or reason needs a control character (tabs and line
    breaks aside)."""
    return any((ch < " " and ch not in "\t\r\n") or ch == "\x7f" for ch in value)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def email_problem(email: str, *, check_format: bool = True) -> str | None:
    """The message to show next to an e-mail field, or None. Sign-in only checks presence and
    length (a mistyped address simply matches no account)."""
    if not email.strip():
        return "Enter your e-mail address."
    if len(email) > MAX_EMAIL_LENGTH:
        return EMAIL_TOO_LONG
    if check_format and not EMAIL_PATTERN.match(normalize_email(email)):
        return EMAIL_MALFORMED
    return None


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    email = normalize_email(email)
    if len(email) > 320 or "\x00" in email:
        return None  # no account can have it, and Postgres refuses NUL in a query parameter
    return await session.scalar(select(User).where(func.lower(User.email) == email))


class EmailTaken(DomainError):
    pass


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    name: str,
    role: Role,
    password: str | None,
    verified: bool = False,
) -> User:
    if await get_user_by_email(session, email) is not None:
        raise EmailTaken("An account with this e-mail address already exists.")
    user = User(
        email=normalize_email(email),
        name=name.strip(),
        role=role,
        password_hash=await hash_password_async(password) if password else None,
        email_verified_at=utcnow() if verified else None,
        status=UserStatus.active,
    )
    try:
        # Two requests for the same address can both pass the check above (a double-clicked
        # sign-up): the unique index decides, and the loser gets the same answer as the check.
        async with session.begin_nested():
            session.add(user)
            await session.flush()
    except IntegrityError:
        raise EmailTaken("An account with this e-mail address already exists.") from None
    return user


async def authenticate(session: AsyncSession, email: str, password: str) -> User | None:
    """The user when e-mail and password match; None otherwise, in the same time either way."""
    user = await get_user_by_email(session, email)
    if not await verify_password_async(user.password_hash if user else None, password):
        return None
    assert user is not None
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = await hash_password_async(password)
    return user


async def locked(session: AsyncSession, user: User) -> User:
    """The person's own row, locked for a change (the signed-in `user` was read before this request's
    transaction began)."""
    row = await session.get(User, user.id, with_for_update=True)
    assert row is not None
    return row


class LinkRefused(DomainError):
    """A link from an e-mail that cannot be used: `problem` names why for the result page."""

    def __init__(self, problem: str, status_code: int = 400) -> None:
        super().__init__(problem)
        self.problem = problem
        self.status_code = status_code


# ---------------------------------------------------------------- sign-up and e-mail verification

SIGNUP_ROLES = (Role.client, Role.contractor)
RESET_LIFETIME = timedelta(hours=1)
EMAIL_CHANGE_LIFETIME = timedelta(hours=24)


async def sign_up(session: AsyncSession, limits: RateLimiter, entry: SignUpInput, origin: Origin) -> User:
    """A new client or contractor account, with its confirmation e-mail. Every request counts
    against the per-address limit, refused ones too. Raises FormError with per-field messages."""
    verdict = await limits.hit(SIGN_UP_PER_IP, origin.ip)
    if not verdict.allowed:
        raise TooManyAttempts(verdict)
    try:
        user = await _new_account(session, entry)
    except FormError:
        await session.rollback()
        raise
    await record_event(session, "signed_up", user_id=user.id, request=origin, role=user.role)
    send_verification(session, user)
    await session.commit()
    return user


async def _new_account(session: AsyncSession, entry: SignUpInput) -> User:
    errors: dict[str, list[str]] = {}
    name, email, role = entry.name.strip(), normalize_email(entry.email), entry.role
    if not name:
        errors.setdefault("name", []).append("Enter your name.")
    elif len(name) > 200:
        errors.setdefault("name", []).append("Use at most 200 characters.")
    elif has_control_characters(name):
        errors.setdefault("name", []).append("Use letters, spaces and punctuation only.")
    if problem := email_problem(email):
        errors.setdefault("email", []).append(problem)
    if role not in SIGNUP_ROLES:
        errors.setdefault("role", []).append("Choose whether you want to hire or to work.")
    problems = await password_problems(entry.password, user_inputs=(name, email, email.split("@")[0]))
    if problems:
        errors["password"] = problems
    taken = {"email": ["An account with this e-mail already exists. Sign in, or reset your password."]}
    if not errors and await get_user_by_email(session, email) is not None:
        errors.update(taken)
    if errors:
        raise FormError(errors)
    assert role is not None
    try:
        return await create_user(session, email=email, name=name, role=role, password=entry.password)
    except EmailTaken:
        raise FormError(taken) from None


async def password_hint(limits: RateLimiter, entry: PasswordHintInput, origin: Origin) -> Strength | None:
    """The live strength hint while typing. Anyone can ask and scoring costs CPU, so it is limited
    per address and never queues behind busy checks (raises StrengthBusy instead)."""
    verdict = await limits.hit(PASSWORD_HINTS_PER_IP, origin.ip)
    if not verdict.allowed:
        raise TooManyAttempts(verdict)
    if not entry.password or len(entry.password) > MAX_LENGTH:
        return None
    return await strength_off_loop(entry.password, user_inputs=(entry.name, entry.email), wait=False)


async def verify_email(session: AsyncSession, secret_key: str, token: str, origin: Origin) -> User:
    """Mark the address of a confirmation link verified, if it is still the user's address."""
    payload, problem = read_verification_token(secret_key, token)
    user = await session.get(User, payload["uid"], with_for_update=True) if payload else None
    if payload is None or user is None or normalize_email(user.email) != normalize_email(payload["email"]):
        await session.rollback()
        raise LinkRefused(problem or "invalid")
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    await record_event(session, "email_verified", user_id=user.id, request=origin)
    await session.commit()
    return user


class AlreadyVerified(DomainError):
    pass


async def resend_verification(session: AsyncSession, limits: RateLimiter, user: User) -> None:
    """A new confirmation link, at most a few an hour."""
    if user.email_verified_at is not None:
        raise AlreadyVerified("Your e-mail address is already confirmed.")
    verdict = await limits.hit(RESET_PER_EMAIL, f"verify|{user.id}")
    if not verdict.allowed:
        raise TooManyAttempts(verdict)
    send_verification(session, user)
    await session.commit()


# ---------------------------------------------------------------- password reset and change


async def start_password_reset(session: AsyncSession, secret_key: str, email: str) -> tuple[User, OneTimeToken] | None:
    """A reset token row for the account, or None when no account has this e-mail (callers
    answer the same). The link is made from the row when the e-mail is sent."""
    user = await get_user_by_email(session, email)
    if user is None or not user.is_active:
        return None
    row = await issue_one_time_token(session, secret_key, user.id, TokenPurpose.password_reset, RESET_LIFETIME)
    return user, row


async def request_password_reset(
    session: AsyncSession, limits: RateLimiter, entry: EmailInput, secret_key: str, origin: Origin
) -> None:
    """The reset e-mail, when the address has an account; nothing tells the caller which. Every
    request that is let through counts: a reset e-mail is sent whether or not it is wanted."""
    attempt = await limits.attempt((RESET_PER_IP, origin.ip), (RESET_PER_EMAIL, normalize_email(entry.email)))
    if not attempt.allowed:
        raise TooManyAttempts(attempt.verdict)
    started = await start_password_reset(session, secret_key, entry.email)
    if started is not None:
        user, row = started
        await record_event(session, "password_reset_requested", user_id=user.id, request=origin)
        send_link(session, row, "password_reset")
    await session.commit()


async def reset_password(session: AsyncSession, token: str, entry: NewPasswordInput, origin: Origin) -> list[str]:
    """Set the password of a reset link. Returns the providers whose unconfirmed sign-in links the
    reset removed: opening the link proves control of the address; a Google or LinkedIn account
    that the owner never linked while signed in (one linked by matching e-mail) may belong to
    whoever held the address before, so it stops opening the account (ADR 0018).
    Raises DomainError for a link that is no longer usable, FormError for a weak password."""
    row = await find_one_time_token(session, token, TokenPurpose.password_reset, lock=True)
    if row is None:
        raise DomainError("This reset link has expired or was already used. Ask for a new one.")
    user = await session.get(User, row.user_id, with_for_update=True)
    assert user is not None
    problems = await password_problems(entry.password, user_inputs=(user.name, user.email))
    if problems:
        await session.rollback()
        raise FormError({"password": problems})
    row.used_at = utcnow()
    await set_password(user, entry.password)
    removed = await session.scalars(
        delete(OAuthIdentity)
        .where(OAuthIdentity.user_id == user.id, OAuthIdentity.confirmed_at.is_(None))
        .returning(OAuthIdentity.provider)
    )
    unlinked = sorted(set(removed.all()))
    await record_event(session, "password_reset", user_id=user.id, request=origin)
    for provider in unlinked:
        await record_event(
            session, "oauth_unlinked", user_id=user.id, request=origin, provider=provider, why="password_reset"
        )
    await session.commit()
    return unlinked


async def set_password(user: User, password: str) -> None:
    """New hash; every existing session of the user ends (the caller starts a fresh one)."""
    user.password_hash = await hash_password_async(password)
    user.password_changed_at = utcnow()
    user.session_epoch += 1


async def change_password(session: AsyncSession, user: User, entry: PasswordChangeInput, origin: Origin) -> User:
    """The signed-in person's new password; returns their row with the new session epoch (every
    other session is now dead: the caller starts a fresh one for this browser)."""
    me = await locked(session, user)
    errors: dict[str, list[str]] = {}
    if me.password_hash and not await verify_password_async(me.password_hash, entry.current):
        errors["current_password"] = ["That is not your current password."]
    problems = await password_problems(entry.new, user_inputs=(me.name, me.email))
    if problems:
        errors["new_password"] = problems
    if errors:
        await session.rollback()
        raise FormError(errors)
    await set_password(me, entry.new)
    await record_event(session, "password_changed", user_id=me.id, request=origin)
    await session.commit()
    return me


# ---------------------------------------------------------------- name and e-mail address


async def rename(session: AsyncSession, user: User, entry: NameInput) -> None:
    me = await locked(session, user)
    me.name = entry.name
    await session.commit()


async def set_time_zone(session: AsyncSession, user: User, entry: TimeZoneInput) -> None:
    """Dates and the daily digest's 08:00 follow this zone."""
    me = await locked(session, user)
    me.time_zone = entry.time_zone
    await session.commit()


async def request_email_change(
    session: AsyncSession, user: User, entry: EmailInput, secret_key: str, origin: Origin
) -> None:
    """A confirmation link to the new address; the address changes when it is opened."""
    me = await locked(session, user)
    error = None
    if problem := email_problem(entry.email):
        error = problem
    elif entry.email == normalize_email(me.email):
        error = "That is already your e-mail address."
    elif await get_user_by_email(session, entry.email) is not None:
        error = "Another account uses this e-mail address."
    if error:
        await session.rollback()
        raise FormError({"email": [error]})
    row = await issue_one_time_token(
        session, secret_key, me.id, TokenPurpose.email_change, EMAIL_CHANGE_LIFETIME, {"email": entry.email}
    )
    send_link(session, row, "email_change")
    await record_event(session, "email_change_requested", user_id=me.id, request=origin, new_email=entry.email)
    await session.commit()


async def confirm_email_change(session: AsyncSession, user: User, token: str, origin: Origin) -> str:
    """The new address of the signed-in person's own link, now theirs; the old address hears about
    it (if someone else made the change, its owner can react)."""
    row = await find_one_time_token(session, token, TokenPurpose.email_change, lock=True)
    if row is None or row.user_id != user.id:
        await session.rollback()
        raise LinkRefused("invalid")
    new_email = row.data["email"]
    if await get_user_by_email(session, new_email) is not None:
        await session.rollback()
        raise LinkRefused("taken", 409)
    me = await locked(session, user)
    old_email = me.email
    me.email, me.email_verified_at, row.used_at = new_email, utcnow(), utcnow()
    await record_event(
        session, "email_changed", user_id=me.id, request=origin, old_email=old_email, new_email=new_email
    )
    notify(session, me, "email_changed", to=old_email, new_email=new_email)
    await session.commit()
    return new_email
