"""Retainer tests: a retainer signed by both parties through the real verbs, its periods, and
funding a period the way the provider's webhook does."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import func, select

from app.contracts.drafting import services as drafting
from app.contracts.models import Contract, Milestone
from app.contracts.signing import services as signing
from app.contracts.terms import ContractKind, Retainer
from app.escrow import funding
from app.escrow.models import JournalEntry
from app.money import Money
from app.payments.provider import Payment, PaymentState
from tests.contracts.helpers import FEE, accepted_proposal, sign

AMOUNT = 150_000  # €1,500.00 a period


async def retainer_contract(
    db, client, contractor, *, period: str = "month", start: date | None = None, amount: int = AMOUNT
) -> Contract:
    """A retainer drafted from an accepted proposal, sent and signed by both: active, with its schedule."""
    proposal = await accepted_proposal(db, client, contractor)
    contract = await drafting.draft_from_proposal(db, proposal.id, client)
    contract.draft_terms = contract.draft_terms.with_(
        kind=ContractKind.retainer, retainer=Retainer(amount, period, start), milestones=(), stated_total_minor=None
    )
    contract.kind = ContractKind.retainer  # as the editor's save does
    await db.commit()
    version = await signing.send(db, contract.id, client, fee=FEE)
    await db.commit()
    await sign(db, contract.id, client, version.terms_hash)
    await sign(db, contract.id, contractor, version.terms_hash)
    await db.commit()
    await db.refresh(contract)
    return contract


async def periods(db, contract) -> list[Milestone]:
    query = select(Milestone).where(Milestone.contract_id == contract.id).order_by(Milestone.position, Milestone.id)
    return list((await db.scalars(query.execution_options(populate_existing=True))).all())


def paid(f) -> Payment:
    return Payment(f"pay_{f.public_id}", f.public_id, Money(f.amount_minor, f.currency), PaymentState.succeeded)


async def fund(db, contract, client, *rows):
    f = await funding.open_funding(db, contract.id, client, [m.id for m in rows], provider="sandbox")
    await db.commit()
    await funding.apply_payment(db, paid(f))
    await db.commit()
    return f


async def entries_of(db, contract_id: int) -> int:
    return await db.scalar(
        select(func.count()).select_from(JournalEntry).where(JournalEntry.contract_id == contract_id)
    )


def card(page_text: str, m: Milestone) -> str:
    """One period's card on the contract page."""
    match = re.search(rf'<li class="milestone-card" id="milestone-{m.id}">(.*?)</li>\s*(?:<li class="milestone-card"|</ol>)', page_text, re.S)  # fmt: skip
    assert match, f"no card for period {m.id}"
    return match.group(1)
