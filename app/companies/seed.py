"""Demo company: Acme Robotics, owned by the demo client (DESIGN §4), made through the services."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.services import get_user_by_email
from app.companies.forms import read_company
from app.companies.services import create_company, membership_of


async def seed_companies(session: AsyncSession) -> list[str]:
    client = await get_user_by_email(session, "client@pactline.test")
    if client is None or await membership_of(session, client) is not None:
        return []
    await create_company(
        session,
        client,
        read_company(
            {
                "name": "Acme Robotics",
                "registration_number": "HRB 123456",
                "country": "DE",
                "vat_id": "DE123456789",
                "address": "Robotstraße 1\n10115 Berlin\nGermany",
            }
        ),
    )
    return ["Acme Robotics"]
