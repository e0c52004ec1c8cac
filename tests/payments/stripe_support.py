"""What the Stripe tests share: a milestone funded through the real "Fund" form with
PAYMENTS_PROVIDER=stripe, the funding's rows, and the ledger's entries."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from app.contracts.models import Milestone
from app.escrow.models import Funding, JournalEntry
from app.payments.models import WebhookEvent
from tests.contracts.helpers import active_contract


@dataclass
class Checkout:
    contract_id: int
    milestone_id: int
    funding_id: int
    session_id: str
    url: str


async def fund_on_stripe(client, contractor, db) -> Checkout:
    """The client presses "Fund" on the first milestone: a Checkout Session at the fake, and the
    browser sent to its hosted page."""
    contract, _ = await active_contract(db, client.user, contractor.user)
    milestone = await db.scalar(
        select(Milestone).where(Milestone.contract_id == contract.id).order_by(Milestone.position).limit(1)
    )
    form = {"milestone": [str(milestone.id)], "amount": str(milestone.amount_minor), "currency": "EUR",
            "idempotency_key": "fund-stripe-1"}  # fmt: skip
    contract_id = contract.id
    answer = await client.post_form(f"/contracts/{contract_id}/milestones/fund", form)
    assert answer.status_code == 303, answer.text[:500]
    milestone_id = milestone.id
    db.expire_all()
    funding = await db.scalar(select(Funding).where(Funding.contract_id == contract_id))
    assert funding.provider == "stripe" and funding.provider_payment_id.startswith("cs_")
    return Checkout(contract_id, milestone_id, funding.id, funding.provider_payment_id, answer.headers["location"])


async def state_of(db, checkout: Checkout) -> tuple[str, str, str]:
    """(the funding's status, the milestone's, the funding's failure message)."""
    db.expire_all()
    funding = await db.get_one(Funding, checkout.funding_id)
    milestone = await db.get_one(Milestone, checkout.milestone_id)
    return funding.status, milestone.status, funding.failure_message


async def entries_of(db, contract_id: int) -> int:
    return await db.scalar(
        select(func.count()).select_from(JournalEntry).where(JournalEntry.contract_id == contract_id)
    )


async def webhook_rows(db) -> list[WebhookEvent]:
    db.expire_all()
    return list((await db.scalars(select(WebhookEvent).order_by(WebhookEvent.id))).all())


async def paid_checkout(provider, fake, *, reference: str = "fund_refund_1", amount: int = 50_000) -> str:
    """A checkout made through the adapter and paid at the fake with the card that succeeds."""
    from app.money import Money

    checkout = await provider.create_checkout(reference=reference, amount=Money(amount, "EUR"),
                                              description="Escrow for Shop website: “Design”", payer_user_id=1,
                                              return_url="/contracts/1")  # fmt: skip
    fake.pay(checkout.payment_id)
    return checkout.payment_id
