"""A refund is closed in the ledger once the provider made it: the client's refunds account goes
back to zero and the money leaves through provider clearing — once, however often the job runs."""

from __future__ import annotations

from sqlalchemy import func, select

from app.escrow import funding
from app.escrow.ledger import account, balance
from app.escrow.lifecycle import refund_paid_reference
from app.escrow.models import AccountKind, EntryKind, Funding, FundingStatus, JournalEntry
from app.escrow.tasks import refund_payment
from app.money import Money
from app.payments import sandbox
from app.payments.models import SandboxRefund
from app.payments.sandbox import SandboxProvider
from app.worker.models import OutboxJob
from tests.payments.reconciliation_support import (
    deal,
    entries_named,
    paid_funding,
    refund_milestone,
    run_refund_job,
)


async def refunds_balance(db, client_id: int) -> Money:
    db.expire_all()
    return await balance(db, await account(db, AccountKind.refunds, "EUR", user_id=client_id))


async def test_a_refund_run_twice_refunds_once_and_posts_once(app, db):
    d = await deal(db)
    client_id, contract_id = d.client.id, d.contract.id
    await paid_funding(app, db, d, d.milestones[0])
    key = await refund_milestone(app, db, d, d.milestones[0])  # the job run once here

    await run_refund_job(app, db, key)  # and again: a retry after a crash between the two steps

    reference = refund_paid_reference(key)
    assert await entries_named(db, reference) == 1
    entry = await db.scalar(select(JournalEntry).where(JournalEntry.reference == reference))
    assert entry.kind == EntryKind.refund_paid and entry.contract_id == contract_id
    assert await db.scalar(select(func.count()).select_from(SandboxRefund)) == 1
    assert await refunds_balance(db, client_id) == Money(0)  # the client's refund went back through the provider
    clearing = await account(db, AccountKind.provider_clearing, "EUR")
    assert await balance(db, clearing) == Money(0)  # €1,000 in, €1,000 back out


async def test_a_milestone_refund_passes_the_client_and_the_key_to_the_job(app, db):
    d = await deal(db)
    client_id = d.client.id
    await paid_funding(app, db, d, d.milestones[0])
    key = await refund_milestone(app, db, d, d.milestones[0])
    job = await db.scalar(select(OutboxJob).where(OutboxJob.function == "refund_payment"))
    assert job.kwargs["client_id"] == client_id and job.kwargs["key"] == key == f"refund:milestone:{d.milestones[0].id}"


async def test_a_payment_that_could_fund_nothing_is_refunded_and_closed(app, db):
    """The whole-payment refund of funding.py's `_refund_whole`, through the sandbox."""
    d = await deal(db)
    client_id = d.client.id
    provider = SandboxProvider(app.state.sessionmaker)
    opened = await funding.open_funding(db, d.contract.id, d.client, [d.milestones[0].id], provider="sandbox")
    await db.commit()
    await funding.start_checkout(app.state.sessionmaker, provider, opened.id)
    await funding.cancel_by_client(db, d.contract.id, opened.public_id, d.client)  # cancelled, then paid anyway
    await db.commit()
    f = await db.get_one(Funding, opened.id, populate_existing=True)
    funding_id = f.id
    await sandbox.pay(db, await sandbox.checkout_for(db, f.provider_payment_id, d.client.id), sandbox.SUCCEEDS)
    await db.commit()
    async with app.state.sessionmaker() as other, other.begin():
        await funding.apply_payment(other, await provider.retrieve(f.provider_payment_id))
    key = f"refund:{f.public_id}"
    job = await db.scalar(
        select(OutboxJob).where(OutboxJob.function == "refund_payment", OutboxJob.kwargs["key"].astext == key)
    )
    assert job.kwargs["client_id"] == client_id
    assert await refunds_balance(db, client_id) == Money(100_000)  # owed until the provider refunds

    await run_refund_job(app, db, key)

    assert (await db.get_one(Funding, funding_id, populate_existing=True)).status == FundingStatus.refunded
    assert await entries_named(db, refund_paid_reference(key)) == 1
    assert await refunds_balance(db, client_id) == Money(0)


async def test_a_job_written_before_the_client_was_passed_finds_the_client_itself(app, db):
    d = await deal(db)
    client_id = d.client.id
    await paid_funding(app, db, d, d.milestones[0])
    key = await refund_milestone(app, db, d, d.milestones[0])
    job = await db.scalar(select(OutboxJob).where(OutboxJob.kwargs["key"].astext == key))
    older = {name: value for name, value in job.kwargs.items() if name != "client_id"}
    ctx = {"settings": app.state.settings, "sessionmaker": app.state.sessionmaker}
    await refund_payment(ctx, **older)
    assert await entries_named(db, refund_paid_reference(key)) == 1
    assert await refunds_balance(db, client_id) == Money(0)
