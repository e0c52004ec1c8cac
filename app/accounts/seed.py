"""Demo accounts (development only), made through the account services."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.accounts.services import create_user, get_user_by_email

DEMO_PASSWORD = "pactline-demo-2026"
DEMO_ACCOUNTS = [
    ("client@pactline.test", "Clara Client", Role.client),
    ("contractor@pactline.test", "Conor Contractor", Role.contractor),
    ("admin@pactline.test", "Ada Admin", Role.admin),
]


async def seed_accounts(session: AsyncSession) -> list[str]:
    created = []
    for email, name, role in DEMO_ACCOUNTS:
        if await get_user_by_email(session, email) is None:
            await create_user(session, email=email, name=name, role=role, password=DEMO_PASSWORD, verified=True)
            created.append(email)
    return created
