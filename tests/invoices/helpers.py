"""Invoices tests: money moved through the escrow verbs (as tests/escrow and tests/payouts do), and
the documents that moving it issued."""

from __future__ import annotations

import io

from pypdf import PdfReader
from sqlalchemy import select

from app.contracts.models import Milestone
from app.escrow import funding, lifecycle
from app.invoices.models import Invoice
from app.money import Money
from app.payments.provider import Payment, PaymentState
from tests.contracts.helpers import active_contract


def paid(f) -> Payment:
    return Payment(f"pay_{f.public_id}", f.public_id, Money(f.amount_minor, f.currency), PaymentState.succeeded)


async def milestones_of(db, contract) -> list[Milestone]:
    rows = await db.scalars(select(Milestone).where(Milestone.contract_id == contract.id).order_by(Milestone.position))
    return list(rows.all())


async def funded(db, client, contractor, *, which=(0,)):
    """An active contract ("Design" €1,000.00, "Build" €2,000.00) with the milestones at `which`
    funded in one payment, as the provider's webhook applies it."""
    contract, _ = await active_contract(db, client, contractor)
    milestones = await milestones_of(db, contract)
    chosen = [milestones[i] for i in which]
    f = await funding.open_funding(db, contract.id, client, [m.id for m in chosen], provider="sandbox")
    await db.commit()
    await funding.apply_payment(db, paid(f))
    await db.commit()
    return contract, milestones, f


async def released(db, client, contractor):
    """ "Design" funded, submitted and approved: €1,000.00 released, €100.00 of it Pactline's fee."""
    contract, milestones, f = await funded(db, client, contractor)
    design = milestones[0]
    await lifecycle.submit(db, design.id, contractor, "The designs are in the shared folder.")
    await db.commit()
    await lifecycle.approve(db, design.id, client)
    await db.commit()
    return contract, design


async def documents(db, **where) -> list[Invoice]:
    query = select(Invoice).order_by(Invoice.id).execution_options(populate_existing=True)
    for name, value in where.items():
        query = query.where(getattr(Invoice, name) == value)
    return list((await db.scalars(query)).all())


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def by_kind(docs: list[Invoice]) -> dict[str, Invoice]:
    kinds = {d.kind: d for d in docs}
    assert len(kinds) == len(docs), f"more than one document of a kind: {[d.kind for d in docs]}"
    return kinds
