"""Factories: rows made through the real services, with sensible defaults."""

from __future__ import annotations

import itertools

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role, User
from app.accounts.services import create_user

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)


async def make_user(
    db: AsyncSession,
    *,
    role: Role = Role.client,
    email: str | None = None,
    name: str | None = None,
    password: str = PASSWORD,
    verified: bool = True,
) -> User:
    n = next(_counter)
    user = await create_user(
        db,
        email=email or f"{role.value}{n}@example.test",
        name=name or f"Test {role.value.title()} {n}",
        role=role,
        password=password,
        verified=verified,
    )
    await db.commit()
    return user
