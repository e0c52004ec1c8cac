"""The escrow verbs on real Postgres: funding through a provider's answer, submission, approval and
release with the signed fee, revisions, auto-approval, refunds, freeze and settle, completion."""

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.contracts.models import Contract, ContractStatus, Milestone, MilestoneStatus
from app.db import utcnow
from app.errors import DomainError, NotFound
from app.escrow import funding, lifecycle
from app.escrow.ledger import escrow_balance
from app.escrow.models import Account, AccountKind, FundingStatus, JournalEntry, Submission, SubmissionAnswer
from app.money import Money
from app.payments.provider import Payment, PaymentState
from app.worker.models import OutboxJob
from tests.contracts.helpers import active_contract
from tests.support.factories import make_user
from tests.support.notifications import mails_where, notifications_of


@pytest.fixture
async def deal(db):
    client = await make_user(db, role=Role.client)
    contractor = await make_user(db, role=Role.contractor)
    contract, _ = await active_contract(db, client, contractor)
    milestones = list(
        await db.scalars(select(Milestone).where(Milestone.contract_id == contract.id).order_by(Milestone.position))
    )
    return contract, client, contractor, milestones


def paid(f, state=PaymentState.succeeded, amount=None, pid=None):
    return Payment(
        id=pid or f"pay_{f.public_id}",
        reference=f.public_id,
        amount=amount or Money(f.amount_minor, f.currency),
        state=state,
        failure_message="Your card was declined." if state == PaymentState.failed else "",
    )


async def refused(app, error, verb, *args, match=None, **kwargs):
    """Run a verb that must be refused in a session of its own, which then rolls back."""
    async with app.state.sessionmaker() as s:
        with pytest.raises(error, match=match):
            await verb(s, *args, **kwargs)


async def fund(db, contract, client, *milestones):
    f = await funding.open_funding(db, contract.id, client, [m.id for m in milestones], provider="sandbox")
    await db.commit()
    await funding.apply_payment(db, paid(f))
    await db.commit()
    return f


async def balance(db, kind, **owner):
    return await db.scalar(
        select(Account.balance_minor).where(
            Account.kind == kind,
            Account.owner_user_id.is_not_distinct_from(owner.get("user_id")),
            Account.owner_contract_id.is_not_distinct_from(owner.get("contract_id")),
        )
    )


async def status_of(db, m):
    return await db.scalar(
        select(Milestone.status).where(Milestone.id == m.id).execution_options(populate_existing=True)
    )


async def test_a_paid_funding_funds_its_milestones_once_however_often_the_provider_says_so(db, deal):
    contract, client, _, (design, build) = deal
    f = await funding.open_funding(db, contract.id, client, [design.id, build.id], provider="sandbox")
    await db.commit()
    assert f.amount_minor == 300000 and f.status == FundingStatus.open  # exactly the milestones' amounts
    for _ in range(3):
        await funding.apply_payment(db, paid(f))
        await db.commit()
    assert await status_of(db, design) == MilestoneStatus.funded
    assert await status_of(db, build) == MilestoneStatus.funded
    assert await escrow_balance(db, contract.id, "EUR") == Money(300000)
    entries = await db.scalar(select(func.count()).where(JournalEntry.contract_id == contract.id))
    assert entries == 2  # one per milestone, never repeated


async def test_a_declined_card_leaves_the_milestone_unfunded_and_it_can_be_funded_again(db, deal):
    contract, client, _, (design, _build) = deal
    f = await funding.open_funding(db, contract.id, client, [design.id], provider="sandbox")
    await db.commit()
    await funding.apply_payment(db, paid(f, PaymentState.failed))
    await db.commit()
    await db.refresh(f)
    assert f.status == FundingStatus.failed and "declined" in f.failure_message
    assert await status_of(db, design) == MilestoneStatus.pending
    assert await db.scalar(select(func.count()).select_from(JournalEntry)) == 0
    again = await fund(db, contract, client, design)
    assert again.id != f.id and await status_of(db, design) == MilestoneStatus.funded


async def test_funding_the_same_milestone_twice_gives_back_the_checkout_in_progress(db, deal):
    contract, client, _, (design, build) = deal
    first = await funding.open_funding(db, contract.id, client, [design.id], provider="sandbox")
    await db.commit()
    again = await funding.open_funding(db, contract.id, client, [design.id], provider="sandbox")
    assert again.id == first.id
    with pytest.raises(DomainError, match="already in progress"):
        await funding.open_funding(db, contract.id, client, [design.id, build.id], provider="sandbox")


async def test_a_payment_that_arrives_after_the_checkout_was_cancelled_is_refunded_in_full(db, deal):
    contract, client, _, (design, _build) = deal
    f = await funding.open_funding(db, contract.id, client, [design.id], provider="sandbox")
    await db.commit()
    await funding.cancel_by_client(db, contract.id, f.public_id, client)
    await db.commit()
    await funding.apply_payment(db, paid(f))
    await db.commit()
    await db.refresh(f)
    assert f.status == FundingStatus.refunded
    assert await status_of(db, design) == MilestoneStatus.pending
    assert await escrow_balance(db, contract.id, "EUR") == Money(0)
    assert await balance(db, AccountKind.refunds, user_id=client.id) == 100000
    job = await db.scalar(select(OutboxJob).where(OutboxJob.function == "refund_payment"))
    assert job is not None and job.kwargs["amount_minor"] == 100000


async def test_only_the_client_funds_and_only_pending_milestones(app, db, deal):
    contract, client, contractor, (design, _build) = deal
    stranger = await make_user(db, role=Role.client)
    for who in (contractor, stranger):
        await refused(app, NotFound, funding.open_funding, contract.id, who, [design.id], provider="sandbox")
    await fund(db, contract, client, design)
    await refused(app, DomainError, funding.open_funding, contract.id, client, [design.id], provider="sandbox",
                  match="already funded")  # fmt: skip


async def test_submit_starts_the_review_clock_and_approval_releases_less_the_signed_fee(db, deal):
    contract, client, contractor, (design, _build) = deal
    await fund(db, contract, client, design)
    before = utcnow()
    await lifecycle.submit(db, design.id, contractor, "The designs are in the shared folder.")
    await db.commit()
    m = await db.get(Milestone, design.id, populate_existing=True)
    assert m.status == MilestoneStatus.submitted
    assert before + timedelta(days=7) <= m.review_ends_at <= utcnow() + timedelta(days=7)
    await lifecycle.approve(db, design.id, client)
    await db.commit()
    assert await status_of(db, design) == MilestoneStatus.released
    assert await escrow_balance(db, contract.id, "EUR") == Money(0)
    assert await balance(db, AccountKind.contractor_payable, user_id=contractor.id) == 90000  # 1 000.00 less 10 %
    assert await balance(db, AccountKind.platform_fees) == 10000
    with pytest.raises(DomainError, match="already approved and released"):
        await lifecycle.approve(db, design.id, client)


async def test_a_revision_keeps_the_money_held_counts_and_stops_the_clock(app, db, deal):
    contract, client, contractor, (design, _build) = deal
    await fund(db, contract, client, design)
    await lifecycle.submit(db, design.id, contractor, "First drafts.")
    await db.commit()
    await lifecycle.request_revision(db, design.id, client, "The logo should be larger.")
    await db.commit()
    m = await db.get(Milestone, design.id, populate_existing=True)
    assert (m.status, m.revision_count, m.review_ends_at) == (MilestoneStatus.revision_requested, 1, None)
    sub = await db.scalar(select(Submission).where(Submission.milestone_id == design.id))
    assert sub.answer == SubmissionAnswer.revision_requested and sub.reason == "The logo should be larger."
    assert await escrow_balance(db, contract.id, "EUR") == Money(100000)
    await refused(app, DomainError, lifecycle.approve, design.id, client)
    second = await lifecycle.submit(db, design.id, contractor, "Bigger logo.")
    await db.commit()
    assert second.number == 2


async def test_the_contractor_cannot_submit_unfunded_work_and_others_get_404(app, db, deal):
    contract, client, contractor, (design, _build) = deal
    await refused(app, DomainError, lifecycle.submit, design.id, contractor, "Early.", match="not funded yet")
    await fund(db, contract, client, design)
    stranger = await make_user(db, role=Role.contractor)
    for who in (client, stranger):
        await refused(app, NotFound, lifecycle.submit, design.id, who, "Not mine to submit.")


async def test_auto_approval_waits_for_the_window_then_releases_once(db, deal):
    contract, client, contractor, (design, _build) = deal
    await fund(db, contract, client, design)
    await lifecycle.submit(db, design.id, contractor, "Done.")
    await db.commit()
    ends = (await db.get(Milestone, design.id, populate_existing=True)).review_ends_at
    assert not await lifecycle.auto_approve(db, design.id, now=ends - timedelta(seconds=1))
    await db.commit()
    assert await lifecycle.due_for_auto_approval(db, ends) == [design.id]
    assert await lifecycle.auto_approve(db, design.id, now=ends)
    await db.commit()
    assert not await lifecycle.auto_approve(db, design.id, now=ends)
    await db.commit()
    sub = await db.scalar(select(Submission).where(Submission.milestone_id == design.id))
    assert sub.answer == SubmissionAnswer.auto_approved and sub.answered_by is None
    assert await balance(db, AccountKind.contractor_payable, user_id=contractor.id) == 90000


async def test_the_timer_racing_the_clients_approval_releases_once(app, db, deal):
    contract, client, contractor, (design, _build) = deal
    await fund(db, contract, client, design)
    await lifecycle.submit(db, design.id, contractor, "Done.")
    await db.commit()
    later = utcnow() + timedelta(days=8)

    async def by_client():
        async with app.state.sessionmaker() as s, s.begin():
            await lifecycle.approve(s, design.id, client)

    async def by_timer():
        async with app.state.sessionmaker() as s, s.begin():
            return await lifecycle.auto_approve(s, design.id, now=later)

    results = await asyncio.gather(by_client(), by_timer(), return_exceptions=True)
    assert [r for r in results if isinstance(r, BaseException) and not isinstance(r, DomainError)] == []
    releases = await db.scalar(
        select(func.count()).where(JournalEntry.milestone_id == design.id, JournalEntry.kind == "release")
    )
    assert releases == 1
    assert await balance(db, AccountKind.contractor_payable, user_id=contractor.id) == 90000


async def test_two_tabs_approving_at_once_release_once(app, db, deal):
    contract, client, contractor, (design, _build) = deal
    await fund(db, contract, client, design)
    await lifecycle.submit(db, design.id, contractor, "Done.")
    await db.commit()

    async def approve():
        async with app.state.sessionmaker() as s, s.begin():
            await lifecycle.approve(s, design.id, client)

    results = await asyncio.gather(*(approve() for _ in range(4)), return_exceptions=True)
    assert sum(r is None for r in results) == 1
    assert all(isinstance(r, DomainError) for r in results if r is not None)
    assert await balance(db, AccountKind.contractor_payable, user_id=contractor.id) == 90000


async def test_reminders_go_out_48_and_24_hours_before_once_each(db, deal, smtp_server):
    contract, client, contractor, (design, _build) = deal
    await fund(db, contract, client, design)
    await lifecycle.submit(db, design.id, contractor, "Done.")
    await db.commit()
    ends = (await db.get(Milestone, design.id, populate_existing=True)).review_ends_at
    assert await lifecycle.due_for_reminder(db, ends - timedelta(hours=49)) == []
    assert await lifecycle.remind(db, design.id, now=ends - timedelta(hours=47))
    assert not await lifecycle.remind(db, design.id, now=ends - timedelta(hours=47))
    assert await lifecycle.due_for_reminder(db, ends - timedelta(hours=30)) == []
    assert await lifecycle.remind(db, design.id, now=ends - timedelta(hours=23))
    await db.commit()
    told = await notifications_of(db, client.id, "milestone.review_reminder")
    assert [n.title for n in told] == [
        f"“{design.title}” approves itself in 48 hours unless you answer.",
        f"“{design.title}” approves itself in 24 hours unless you answer.",
    ]
    assert {n.link for n in told} == {f"/contracts/{contract.id}#milestone-{design.id}"}
    assert await notifications_of(db, contractor.id, "milestone.review_reminder") == []
    mails = await mails_where(smtp_server, lambda m: "within" in m["Subject"], 2)
    assert sorted(m["Subject"] for m in mails) == sorted(
        [f"Review “{design.title}” within 48 hours", f"Review “{design.title}” within 24 hours"]
    )
    assert all(m["To"] == client.email and m["List-Unsubscribe"] for m in mails)


async def test_a_settlement_must_split_exactly_the_held_amount_and_the_fee_applies_to_the_release(app, db, deal):
    contract, client, contractor, (design, _build) = deal
    await fund(db, contract, client, design)
    settle = lifecycle.settle
    await refused(
        app, DomainError, settle, design.id, Money(50000), Money(50000), actor_id=None, match="not in a dispute"
    )
    await lifecycle.freeze(db, design.id, actor_id=None)
    await db.commit()
    assert await status_of(db, design) == MilestoneStatus.disputed
    for refund, release in ((Money(50000), Money(49999)), (Money(60000), Money(50000)), (Money(-1), Money(100001))):
        await refused(app, DomainError, settle, design.id, refund, release, actor_id=None, match="exactly|negative")
    await refused(
        app, DomainError, settle, design.id, Money(50000, "USD"), Money(50000), actor_id=None, match="held in EUR"
    )
    assert await escrow_balance(db, contract.id, "EUR") == Money(100000)
    await lifecycle.settle(db, design.id, Money(40000), Money(60000), actor_id=None)
    await db.commit()
    assert await status_of(db, design) == MilestoneStatus.settled
    assert await balance(db, AccountKind.refunds, user_id=client.id) == 40000
    assert await balance(db, AccountKind.contractor_payable, user_id=contractor.id) == 54000
    assert await balance(db, AccountKind.platform_fees) == 6000
    assert await escrow_balance(db, contract.id, "EUR") == Money(0)


async def test_refunding_a_funded_milestone_gives_the_client_everything_back(db, deal):
    contract, client, _, (design, _build) = deal
    await fund(db, contract, client, design)
    c = await db.scalar(select(Contract).where(Contract.id == contract.id).with_for_update())
    m = await db.scalar(select(Milestone).where(Milestone.id == design.id).with_for_update())
    await lifecycle.refund(db, c, m, actor_id=None, why="removed by amendment")
    await db.commit()
    assert await status_of(db, design) == MilestoneStatus.refunded
    assert await balance(db, AccountKind.refunds, user_id=client.id) == 100000
    job = await db.scalar(select(OutboxJob).where(OutboxJob.function == "refund_payment"))
    assert job.kwargs["key"] == f"refund:milestone:{design.id}"


async def test_the_contract_completes_when_every_milestone_is_finished(db, deal):
    contract, client, contractor, (design, build) = deal
    await fund(db, contract, client, design, build)
    for m in (design, build):
        await lifecycle.submit(db, m.id, contractor, "Done.")
        await db.commit()
    await lifecycle.approve(db, design.id, client)
    await db.commit()
    assert (await db.get(Contract, contract.id, populate_existing=True)).status == ContractStatus.active
    await lifecycle.approve(db, build.id, client)
    await db.commit()
    done = await db.get(Contract, contract.id, populate_existing=True)
    assert done.status == ContractStatus.completed and done.ended_at is not None
    assert await escrow_balance(db, contract.id, "EUR") == Money(0)
