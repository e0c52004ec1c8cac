"""Demo escrow: the demo contract's three milestones funded, submitted and not funded yet, made
through the verbs, the sandbox checkout and its signed webhook; seeding twice changes nothing."""

import asyncio

from click.testing import CliRunner
from sqlalchemy import func, select

from app.cli import main as cli
from app.contracts.models import Contract, Milestone, MilestoneStatus
from app.contracts.seed import TITLE
from app.escrow.ledger import escrow_balance
from app.escrow.models import Funding, FundingStatus, JournalEntry, Submission
from app.money import Money
from app.payments.models import SandboxEvent, SandboxPayment, WebhookEvent
from app.platform.seed import demo_seed


async def counts(db) -> dict[str, int]:
    db.expire_all()
    return {
        model.__name__: await db.scalar(select(func.count()).select_from(model))
        for model in (JournalEntry, Funding, Submission, SandboxPayment, SandboxEvent, WebhookEvent)
    }


async def test_the_demo_contract_has_a_funded_a_submitted_and_an_unfunded_milestone(app, db):
    await demo_seed(app.state.resources)

    contract = await db.scalar(select(Contract))
    assert contract.title == TITLE
    funded, submitted, pending = (
        await db.scalars(select(Milestone).where(Milestone.contract_id == contract.id).order_by(Milestone.position))
    ).all()
    assert (funded.status, submitted.status, pending.status) == (
        MilestoneStatus.funded,
        MilestoneStatus.submitted,
        MilestoneStatus.pending,
    )
    assert submitted.review_ends_at is not None and submitted.review_ends_at > submitted.submitted_at
    assert funded.review_ends_at is None and pending.funded_at is None
    held = Money(funded.amount_minor + submitted.amount_minor, funded.currency)
    assert await escrow_balance(db, contract.id, funded.currency) == held == Money(110000)

    # Paid through the sandbox and applied by its signed webhook, not by calling the ledger.
    fundings = (await db.scalars(select(Funding).where(Funding.contract_id == contract.id))).all()
    assert sorted(f.status for f in fundings) == [FundingStatus.paid, FundingStatus.paid]
    payments = (await db.scalars(select(SandboxPayment).order_by(SandboxPayment.created_at))).all()
    assert [p.id for p in payments] == [f.provider_payment_id for f in sorted(fundings, key=lambda f: f.id)]
    assert all(p.status == "succeeded" and p.card_last4 == "4242" for p in payments)
    events = (await db.scalars(select(SandboxEvent).where(SandboxEvent.type.like("payment.%")))).all()
    assert len(events) == 2 and all(e.delivered_at is not None for e in events)
    received = (await db.scalars(select(WebhookEvent).where(WebhookEvent.type.like("payment.%")))).all()
    assert sorted(w.event_id for w in received) == sorted(e.id for e in events)
    assert all(w.processed_at is not None for w in received)
    assert (await db.scalar(select(Submission).where(Submission.milestone_id == submitted.id))).number == 1

    before = await counts(db)
    await demo_seed(app.state.resources)
    assert await counts(db) == before
    assert before["JournalEntry"] == 2 and before["Submission"] == 1

    result = await asyncio.to_thread(CliRunner().invoke, cli, ["ledger", "verify"])
    assert result.exit_code == 0, result.output
    assert "Money ledger intact: 2 journal entries checked" in result.output
