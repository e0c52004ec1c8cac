"""Account rules: creating users and checking credentials."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role, TokenPurpose, User, UserStatus
from app.accounts.passwords import hash_password_async, needs_rehash, verify_password_async
from app.accounts.passwords_policy import password_problems
from app.accounts.tokens import find_one_time_token, issue_one_time_token
from app.db import utcnow
from app.errors import DomainError, FormError

# The look-ahead caps the length first: without it a long "a@b.b.b.….@" takes quadratic time.
EMAIL_PATTERN = re.compile(r"^(?=.{3,320}$)[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(func.lower(User.email) == normalize_email(email)))


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
        raise DomainError("An account with this e-mail address already exists.")
    user = User(
        email=normalize_email(email),
        name=name.strip(),
        role=role,
        password_hash=await hash_password_async(password) if password else None,
        email_verified_at=utcnow() if verified else None,
        status=UserStatus.active,
    )
    session.add(user)
    await session.flush()
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
    if not EMAIL_PATTERN.match(email):
        errors.setdefault("email", []).append("Enter an e-mail address like name@example.com.")
    if role not in SIGNUP_ROLES:
        errors.setdefault("role", []).append("Choose whether you want to hire or to work.")
    problems = password_problems(password, user_inputs=(name, email, email.split("@")[0]))
    if problems:
        errors["password"] = problems
    if not errors and await get_user_by_email(session, email) is not None:
        errors.setdefault("email", []).append(
            "An account with this e-mail already exists. Sign in, or reset your password."
        )
    if errors:
        raise FormError(errors)
    return await create_user(session, email=email, name=name, role=role, password=password)


async def verify_email(session: AsyncSession, user_id: int, email: str) -> User | None:
    """Mark the address verified if it is still the user's address."""
    user = await session.get(User, user_id, with_for_update=True)
    if user is None or normalize_email(user.email) != normalize_email(email):
        return None
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    return user


# ---------------------------------------------------------------- password reset and change


async def start_password_reset(session: AsyncSession, email: str) -> tuple[User, str] | None:
    """A token for the account, or None when no account has this e-mail (callers answer the same)."""
    user = await get_user_by_email(session, email)
    if user is None or not user.is_active:
        return None
    token = await issue_one_time_token(session, user.id, TokenPurpose.password_reset, RESET_LIFETIME)
    return user, token


async def finish_password_reset(session: AsyncSession, token: str, password: str) -> User:
    row = await find_one_time_token(session, token, TokenPurpose.password_reset, lock=True)
    if row is None:
        raise DomainError("This reset link has expired or was already used. Ask for a new one.")
    user = await session.get(User, row.user_id, with_for_update=True)
    assert user is not None
    problems = password_problems(password, user_inputs=(user.name, user.email))
    if problems:
        raise FormError({"password": problems})
    row.used_at = utcnow()
    await set_password(user, password)
    return user


async def set_password(user: User, password: str) -> None:
    """New hash; every existing session of the user ends (the caller starts a fresh one)."""
    user.password_hash = await hash_password_async(password)
    user.password_changed_at = utcnow()
    user.session_epoch += 1


async def change_password(session: AsyncSession, user: User, current: str, new: str) -> None:
    errors: dict[str, list[str]] = {}
    if user.password_hash and not await verify_password_async(user.password_hash, current):
        errors["current_password"] = ["That is not your current password."]
    problems = password_problems(new, user_inputs=(user.name, user.email))
    if problems:
        errors["new_password"] = problems
    if errors:
        raise FormError(errors)
    await set_password(user, new)
