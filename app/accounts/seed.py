"""Demo accounts (development only), made through the account services."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import mfa
from app.accounts.models import Role
from app.accounts.services import create_user, get_user_by_email
from app.config import Settings

DEMO_PASSWORD = "pactline-demo-2026"  # noqa: S105 — documented demo password (DESIGN §4)
DEMO_ADMIN_TOTP = "JBSWY3DPEHPK3PXP"
DEMO_ACCOUNTS = [
    ("client@pactline.test", "Clara Client", Role.client),
    ("contractor@pactline.test", "Conor Contractor", Role.contractor),
    ("admin@pactline.test", "Ada Admin", Role.admin),
]


async def seed_accounts(session: AsyncSession, settings: Settings) -> list[str]:
    created = []
    for email, name, role in DEMO_ACCOUNTS:
        if await get_user_by_email(session, email) is not None:
            continue
        user = await create_user(session, email=email, name=name, role=role, password=DEMO_PASSWORD, verified=True)
        if role == Role.admin:
            await mfa.enable(session, user, DEMO_ADMIN_TOTP, settings.secret_key)
        created.append(email)
    return created
