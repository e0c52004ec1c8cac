"""Account rules: creating users and checking credentials."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import OAuthIdentity, OneTimeToken, Role, TokenPurpose, User, UserStatus
from app.accounts.passwords import hash_password_async, needs_rehash, verify_password_async
from app.accounts.passwords_policy import password_problems
from app.accounts.tokens import find_one_time_token, issue_one_time_token
from app.db import utcnow
from app.errors import DomainError, FormError

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


# ---------------------------------------------------------------- sign-up and e-mail verification

SIGNUP_ROLES = (Role.client, Role.contractor)
RESET_LIFETIME = timedelta(hours=1)


async def sign_up(session: AsyncSession, *, name: str, email: str, password: str, role: Role) -> User:
    """Validate and create a client or contractor account. Raises FormError with per-field messages."""
    errors: dict[str, list[str]] = {}
    name, email = name.strip(), normalize_email(email)
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
    problems = await password_problems(password, user_inputs=(name, email, email.split("@")[0]))
    if problems:
        errors["password"] = problems
    taken = {"email": ["An account with this e-mail already exists. Sign in, or reset your password."]}
    if not errors and await get_user_by_email(session, email) is not None:
        errors.update(taken)
    if errors:
        raise FormError(errors)
    try:
        return await create_user(session, email=email, name=name, role=role, password=password)
    except EmailTaken:
        raise FormError(taken) from None


async def verify_email(session: AsyncSession, user_id: int, email: str) -> User | None:
    """Mark the address verified if it is still the user's address."""
    user = await session.get(User, user_id, with_for_update=True)
    if user is None or normalize_email(user.email) != normalize_email(email):
        return None
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    return user


# ---------------------------------------------------------------- password reset and change


async def start_password_reset(session: AsyncSession, secret_key: str, email: str) -> tuple[User, OneTimeToken] | None:
    """A reset token row for the account, or None when no account has this e-mail (callers
    answer the same). The link is made from the row when the e-mail is sent."""
    user = await get_user_by_email(session, email)
    if user is None or not user.is_active:
        return None
    row = await issue_one_time_token(session, secret_key, user.id, TokenPurpose.password_reset, RESET_LIFETIME)
    return user, row


async def finish_password_reset(session: AsyncSession, token: str, password: str) -> tuple[User, list[str]]:
    """The user, and the providers whose unconfirmed sign-in links the reset removed.

    Opening the link proves control of the address; a Google or LinkedIn account that the
    owner never linked while signed in (one linked by matching e-mail) may belong to whoever
    held the address before, so it stops opening the account (ADR 0018)."""
    row = await find_one_time_token(session, token, TokenPurpose.password_reset, lock=True)
    if row is None:
        raise DomainError("This reset link has expired or was already used. Ask for a new one.")
    user = await session.get(User, row.user_id, with_for_update=True)
    assert user is not None
    problems = await password_problems(password, user_inputs=(user.name, user.email))
    if problems:
        raise FormError({"password": problems})
    row.used_at = utcnow()
    await set_password(user, password)
    removed = await session.scalars(
        delete(OAuthIdentity)
        .where(OAuthIdentity.user_id == user.id, OAuthIdentity.confirmed_at.is_(None))
        .returning(OAuthIdentity.provider)
    )
    return user, sorted(set(removed.all()))


async def set_password(user: User, password: str) -> None:
    """New hash; every existing session of the user ends (the caller starts a fresh one)."""
    user.password_hash = await hash_password_async(password)
    user.password_changed_at = utcnow()
    user.session_epoch += 1


async def change_password(session: AsyncSession, user: User, current: str, new: str) -> None:
    errors: dict[str, list[str]] = {}
    if user.password_hash and not await verify_password_async(user.password_hash, current):
        errors["current_password"] = ["That is not your current password."]
    problems = await password_problems(new, user_inputs=(user.name, user.email))
    if problems:
        errors["new_password"] = problems
    if errors:
        raise FormError(errors)
    await set_password(user, new)
