"""Money made for the reconciliation tests: fundings paid on the sandbox's checkout (its real
payments), refunds the sandbox really made, releases, and payouts with their ledger entries next
to the sandbox's own payout rows."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from app.accounts.models import Role
from app.contracts.models import Contract, Milestone
from app.db import utcnow
from app.escrow import funding, lifecycle
from app.escrow.ledger import account, post_entry
from app.escrow.models import AccountKind, EntryKind, Funding, JournalEntry
from app.escrow.tasks import refund_payment
from app.money import Money
from app.payments import sandbox
from app.payments.models import SandboxPayout, SandboxPayoutAccount, SandboxPayoutStatus
from app.payments.reconciliation import reconcile
from app.payments.sandbox import SandboxProvider
from app.payouts.models import Payout, PayoutMethod, PayoutStatus
from app.worker.models import OutboxJob
from tests.contracts.helpers import active_contract
from tests.support.factories import make_user

LATER = timedelta(hours=2)  # the run looks from past the grace period: every record is judged


@dataclass
class Deal:
    contract: Contract
    milestones: list[Milestone]
    client: object
    contractor: object


async def deal(db, client=None, contractor=None) -> Deal:
    """An active contract: two pending milestones, €1,000.00 and €2,000.00."""
    client = client or await make_user(db, role=Role.client)
    contractor = contractor or await make_user(db, role=Role.contractor)
    contract, _ = await active_contract(db, client, contractor)
    milestones = list(
        await db.scalars(select(Milestone).where(Milestone.contract_id == contract.id).order_by(Milestone.position))
    )
    return Deal(contract, milestones, client, contractor)


async def paid_funding(app, db, d: Deal, *milestones: Milestone) -> Funding:
    """The client funds `milestones` on the sandbox's checkout with the card that pays; the payment
    is applied as the webhook handler does (the worker's webhook applies it too: idempotent)."""
    provider = SandboxProvider(app.state.sessionmaker)
    opened = await funding.open_funding(db, d.contract.id, d.client, [m.id for m in milestones], provider="sandbox")
    await db.commit()
    await funding.start_checkout(app.state.sessionmaker, provider, opened.id)
    f = await db.get_one(Funding, opened.id, populate_existing=True)
    checkout = await sandbox.checkout_for(db, f.provider_payment_id, d.client.id)
    await sandbox.pay(db, checkout, sandbox.SUCCEEDS)
    await db.commit()
    payment = await provider.retrieve(f.provider_payment_id)
    async with app.state.sessionmaker() as other, other.begin():
        await funding.apply_payment(other, payment)
    return await db.get_one(Funding, opened.id, populate_existing=True)


async def refund_milestone(app, db, d: Deal, m: Milestone) -> str:
    """A funded milestone given back to the client (a signed amendment removing it); the refund job
    run to its end here (the worker may run it as well: one refund, one entry). Returns its key."""
    async with app.state.sessionmaker() as s, s.begin():
        contract = await s.scalar(select(Contract).where(Contract.id == d.contract.id).with_for_update())
        locked = await s.scalar(select(Milestone).where(Milestone.id == m.id).with_for_update())
        await lifecycle.refund(s, contract, locked, actor_id=None, why="removed by amendment")
    key = f"refund:milestone:{m.id}"
    await run_refund_job(app, db, key)
    return key


async def run_refund_job(app, db, key: str) -> str:
    job = await db.scalar(
        select(OutboxJob).where(OutboxJob.function == "refund_payment", OutboxJob.kwargs["key"].astext == key)
    )
    assert job is not None, f"no refund job for {key}"
    ctx = {"settings": app.state.settings, "sessionmaker": app.state.sessionmaker}
    return await refund_payment(ctx, **job.kwargs)


async def release(app, d: Deal, m: Milestone) -> None:
    async with app.state.sessionmaker() as s, s.begin():
        await lifecycle.submit(s, m.id, d.contractor, "Delivered.")
    async with app.state.sessionmaker() as s, s.begin():
        await lifecycle.approve(s, m.id, d.client)


async def payout(db, d: Deal, amount_minor: int, *, state: str) -> Payout:
    """A payout of the contractor's balance as the payouts feature keeps it — its row, its ledger
    entries (payable → in transit, then out through the provider, or back to the balance) — and
    the sandbox's payout for it. `state`: "pending" (on its way), "paid" or "failed"."""
    currency = "EUR"
    amount = Money(amount_minor, currency)
    sandbox_account = await db.scalar(
        select(SandboxPayoutAccount).where(SandboxPayoutAccount.user_id == d.contractor.id)
    )
    if sandbox_account is None:
        sandbox_account = SandboxPayoutAccount(id=f"sbacct_{secrets.token_hex(8)}", user_id=d.contractor.id,
                                               holder_name="Test Contractor", iban_last4="3000")  # fmt: skip
        db.add(sandbox_account)
        db.add(PayoutMethod(user_id=d.contractor.id, provider="sandbox", provider_account_id=sandbox_account.id,
                            label="Bank account •••• 3000", ready=True))  # fmt: skip
        await db.flush()
    method = await db.scalar(select(PayoutMethod).where(PayoutMethod.user_id == d.contractor.id))
    public_id = f"po_{secrets.token_urlsafe(12)}"
    provider_id = f"sbpo_{secrets.token_hex(10)}"
    status = {"pending": PayoutStatus.sent, "paid": PayoutStatus.paid, "failed": PayoutStatus.failed}[state]
    row = Payout(public_id=public_id, user_id=d.contractor.id, method_id=method.id, provider="sandbox",
                 amount_minor=amount_minor, currency=currency, status=status, provider_payout_id=provider_id,
                 sent_at=utcnow())  # fmt: skip
    db.add(row)
    db.add(SandboxPayout(id=provider_id, account_id=sandbox_account.id, reference=public_id,
                         amount_minor=amount_minor, currency=currency, status=SandboxPayoutStatus(state),
                         idempotency_key=f"payout:{public_id}"))  # fmt: skip
    payable = await account(db, AccountKind.contractor_payable, currency, user_id=d.contractor.id)
    in_transit = await account(db, AccountKind.payouts_in_transit, currency, user_id=d.contractor.id)
    clearing = await account(db, AccountKind.provider_clearing, currency)
    await post_entry(db, EntryKind.payout, [(payable, -amount), (in_transit, amount)], reference=f"payout:{public_id}",
                     actor_id=d.contractor.id)  # fmt: skip
    if state == "paid":
        await post_entry(db, EntryKind.payout_paid, [(in_transit, -amount), (clearing, amount)],
                         reference=f"payout_paid:{public_id}")  # fmt: skip
    elif state == "failed":
        await post_entry(db, EntryKind.payout_returned, [(in_transit, -amount), (payable, amount)],
                         reference=f"payout_returned:{public_id}")  # fmt: skip
    await db.commit()
    return row


@dataclass
class Day:
    """A day's worth of money through the sandbox: two fundings (one of two milestones), one
    milestone refunded, one released, and three payouts (on its way, paid, failed)."""

    first: Deal
    second: Deal
    paid: Funding  # design + build of the first deal
    refunded: Funding  # design of the second deal, then refunded
    refund_key: str
    payouts: dict[str, Payout]


async def a_days_money(app, db) -> Day:
    first, second = await deal(db), await deal(db)
    paid = await paid_funding(app, db, first, *first.milestones)
    refunded = await paid_funding(app, db, second, second.milestones[0])
    refund_key = await refund_milestone(app, db, second, second.milestones[0])
    await release(app, first, first.milestones[0])  # €900.00 to the contractor's balance after the 10 % fee
    payouts = {state: await payout(db, first, 20_000, state=state) for state in ("pending", "paid", "failed")}
    return Day(first, second, paid, refunded, refund_key, payouts)


async def run_for_today(app, *, provider=None, now=None):
    provider = provider or SandboxProvider(app.state.sessionmaker)
    now = now or utcnow() + LATER
    return await reconcile(app.state.sessionmaker, provider, utcnow().date(), now=now)


async def entries_named(db, reference: str) -> int:
    return await db.scalar(select(func.count()).select_from(JournalEntry).where(JournalEntry.reference == reference))
