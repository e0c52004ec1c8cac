"""Account rules: creating users and checking credentials."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role, User, UserStatus
from app.accounts.passwords import hash_password, needs_rehash, verify_password
from app.db import utcnow
from app.errors import DomainError


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
        password_hash=hash_password(password) if password else None,
        email_verified_at=utcnow() if verified else None,
        status=UserStatus.active,
    )
    session.add(user)
    await session.flush()
    return user


async def authenticate(session: AsyncSession, email: str, password: str) -> User | None:
    """The user when e-mail and password match; None otherwise, in the same time either way."""
    user = await get_user_by_email(session, email)
    if not verify_password(user.password_hash if user else None, password):
        return None
    assert user is not None
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user
