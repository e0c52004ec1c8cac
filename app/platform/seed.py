"""`pactline demo-seed`: each feature's demo data, in dependency order. Running it twice changes nothing."""

from __future__ import annotations

from sqlalchemy import text

from app.accounts.seed import seed_accounts
from app.platform.resources import Resources


async def demo_seed(resources: Resources) -> list[str]:
    if resources.settings.is_production:
        raise RuntimeError("demo data is for development only")
    async with resources.sessionmaker() as session, session.begin():
        # One seeding at a time, even if two processes start together.
        await session.execute(text("SELECT pg_advisory_xact_lock(727274)"))
        created = await seed_accounts(session, resources.settings)
    return created
