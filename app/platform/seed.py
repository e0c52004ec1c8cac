"""`pactline demo-seed`: each feature's demo data, in dependency order. Running it twice changes nothing."""

from __future__ import annotations

from sqlalchemy import text

from app.accounts.seed import seed_accounts
from app.companies.seed import seed_companies
from app.contracts.seed import seed_contracts
from app.conversations.seed import seed_conversations
from app.escrow.seed import seed_escrow
from app.marketplace.seed import seed_marketplace
from app.notifications.seed import seed_notifications
from app.payouts.seed import seed_payouts
from app.platform.resources import Resources
from app.profiles.seed import seed_profiles


async def demo_seed(resources: Resources) -> list[str]:
    if resources.settings.is_production:
        raise RuntimeError("demo data is for development only")
    async with resources.sessionmaker() as session, session.begin():
        # One seeding at a time, even if two processes start together.
        await session.execute(text("SELECT pg_advisory_xact_lock(727274)"))
        created = await seed_accounts(session, resources.settings)
        created += await seed_marketplace(session)
        created += await seed_companies(session)
    created += await seed_profiles(resources)  # commits as it goes: after the accounts exist
    created += await seed_contracts(resources)
    created += await seed_conversations(resources)  # the demo contract's parties talking, one picture
    created += await seed_escrow(resources)  # the contract's money: through its checkout and webhook
    created += await seed_payouts(resources)  # the demo contractor's sandbox bank account
    created += await seed_notifications(resources)  # one unread for each demo person, about the above
    return created
