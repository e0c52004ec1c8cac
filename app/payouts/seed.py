"""Demo payouts (development only): the demo contractor's sandbox bank account, set up as a
contractor does it — the account at the provider, its page saved with the test IBAN that
receives payouts, its `payout_account.updated` webhook delivered, and the return to /earnings.
An account that is ready already is left alone, so running the seed again changes nothing."""

from __future__ import annotations

from sqlalchemy import select

from app.accounts.services import get_user_by_email
from app.escrow.seed import _deliver
from app.payments import sandbox_payouts
from app.payments.models import SandboxEvent
from app.payments.providers import get_provider
from app.payouts import services
from app.web.urls import path_for


async def seed_payouts(resources) -> list[str]:
    settings, sessionmaker = resources.settings, resources.sessionmaker
    provider = get_provider(settings, sessionmaker)
    if provider.name != "sandbox":
        return []
    async with sessionmaker() as db:
        contractor = await get_user_by_email(db, "contractor@pactline.test")
        method = await services.method_of(db, contractor.id, provider.name) if contractor else None
    if contractor is None or (method is not None and method.ready):
        return []
    await services.start_method_setup(sessionmaker, provider, contractor, return_url=path_for("earnings:method-return"))
    async with sessionmaker() as db, db.begin():
        method = await services.method_of(db, contractor.id, provider.name)
        assert method is not None
        account = await sandbox_payouts.bank_account_for(db, method.provider_account_id, contractor.id)
        await sandbox_payouts.save_bank_details(db, account, contractor.name, sandbox_payouts.ARRIVES)
    async with sessionmaker() as db:
        events = list(
            await db.scalars(
                select(SandboxEvent.id).where(
                    SandboxEvent.object_id == method.provider_account_id, SandboxEvent.delivered_at.is_(None)
                )
            )
        )
    await _deliver(resources, events)
    await services.set_up_method(sessionmaker, provider, contractor)
    return [f"payouts: {contractor.email} has a sandbox bank account ready for payouts"]
