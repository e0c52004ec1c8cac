"""Funding milestones: the client's payment into escrow, through a provider's checkout.

1. `open_funding` (one transaction, under the contract's row lock like an amendment — DESIGN §6):
   checks the milestones can be funded and writes a `Funding` for exactly their amounts.
2. `start_checkout` (no transaction held): asks the provider for a checkout and remembers it.
3. The provider's webhook (app/payments) re-reads the payment and calls `apply_payment` in a new
   transaction: a compare-and-set on the funding's state, so a webhook twice, late or before
   the browser's redirect moves money once. A payment that arrives when its milestones can no
   longer be funded is refunded in full."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts.guards import ensure_verified
from app.accounts.models import User
from app.contracts.models import Contract, ContractStatus, Milestone, MilestoneStatus
from app.contracts.services import audit, contract_for, contract_path, milestone_path, notify_parties, parties_of
from app.db import utcnow
from app.errors import DomainError, NotFound
from app.escrow.ledger import account, post_entry
from app.escrow.models import AccountKind, EntryKind, Funding, FundingMilestone, FundingStatus
from app.events import publish
from app.invoices.services import issue_receipt
from app.money import Money, format_minor
from app.notifications import notify
from app.payments.provider import Payment, PaymentProvider, PaymentState, ProviderError
from app.web.urls import path_for
from app.worker.outbox import defer

log = logging.getLogger("pactline.escrow")

PROVIDER_DOWN = "The payment service did not answer. Nothing was charged; please try again in a minute."


def _state_words(m: Milestone) -> str:
    return {
        MilestoneStatus.funded: "already funded",
        MilestoneStatus.submitted: "already funded and submitted",
        MilestoneStatus.revision_requested: "already funded",
        MilestoneStatus.released: "already paid out",
        MilestoneStatus.removed: "no longer part of the contract",
    }.get(MilestoneStatus(m.status), f"{m.status.replace('_', ' ')}")


async def open_fundings_of(db: AsyncSession, contract_id: int) -> dict[int, Funding]:
    """Milestone id → the open funding (a checkout in progress) that covers it."""
    rows = await db.execute(
        select(FundingMilestone.milestone_id, Funding)
        .join(Funding, Funding.id == FundingMilestone.funding_id)
        .where(Funding.contract_id == contract_id, Funding.status == FundingStatus.open)
    )
    return {milestone_id: funding for milestone_id, funding in rows.all()}


async def open_funding(
    db: AsyncSession, contract_id: int, client: User, milestone_ids: Sequence[int], *, provider: str
) -> Funding:
    """The client's funding of `milestone_ids` (one or several pending milestones of an active
    contract) for exactly their amounts. Funding the same milestones again while their checkout
    is open gives back that checkout; overlapping a different open checkout is refused."""
    contract = await contract_for(db, contract_id, client, lock=True)
    if client.id != contract.client_id:
        raise NotFound(contract_id)
    ensure_verified(client)
    if contract.status != ContractStatus.active:
        raise DomainError("Only an active contract's milestones can be funded.")
    wanted = sorted(set(milestone_ids))
    if not wanted:
        raise DomainError("Choose at least one milestone to fund.")
    milestones = list(
        (
            await db.scalars(
                select(Milestone)
                .where(Milestone.id.in_(wanted), Milestone.contract_id == contract.id)
                .order_by(Milestone.id)
                .with_for_update()
            )
        ).all()
    )
    if len(milestones) != len(wanted):
        raise NotFound(contract_id)
    for m in milestones:
        if m.status != MilestoneStatus.pending:
            raise DomainError(f"“{m.title}” is {_state_words(m)}, so it can’t be funded.")
    currencies = {m.currency for m in milestones}
    if len(currencies) != 1:
        raise DomainError("Milestones in different currencies are funded one at a time.")
    in_progress = await open_fundings_of(db, contract.id)
    busy = {in_progress[m.id].id for m in milestones if m.id in in_progress}
    if busy:
        existing = in_progress[next(m.id for m in milestones if m.id in in_progress)]
        covered = sorted(mid for mid, f in in_progress.items() if f.id == existing.id)
        if len(busy) == 1 and covered == wanted:
            return existing  # the same payment again: continue it
        raise DomainError(
            "A payment for some of these milestones is already in progress. Finish it or cancel it first."
        )
    amount = sum(m.amount_minor for m in milestones)
    funding = Funding(
        public_id=f"fund_{secrets.token_urlsafe(18)}",
        contract_id=contract.id,
        client_id=client.id,
        amount_minor=amount,
        currency=currencies.pop(),
        status=FundingStatus.open,
        provider=provider,
    )
    db.add(funding)
    await db.flush()
    db.add_all(
        FundingMilestone(funding_id=funding.id, milestone_id=m.id, amount_minor=m.amount_minor) for m in milestones
    )
    await audit(db, contract, "funding_started", client.id, funding=funding.public_id, amount_minor=amount,
          currency=funding.currency, milestones=[m.id for m in milestones])  # fmt: skip
    return funding


def _describe(contract: Contract, milestones: Sequence[Milestone]) -> str:
    titles = ", ".join(f"“{m.title}”" for m in milestones)
    return f"Escrow for {contract.title}: {titles}"[:500]


async def start_checkout(
    sessionmaker: async_sessionmaker[AsyncSession], provider: PaymentProvider, funding_id: int
) -> str:
    """Where the client's browser goes to pay `funding_id`: its checkout, made now if it has none.
    The provider is called with no transaction open. If it fails the funding is closed (nothing
    was charged) and a DomainError says so."""
    async with sessionmaker() as db:
        funding = await db.get_one(Funding, funding_id)
        if funding.status != FundingStatus.open:
            raise DomainError(funding.failure_message or "This payment is closed.")
        if funding.checkout_url:
            return funding.checkout_url
        contract = await db.get_one(Contract, funding.contract_id)
        milestones = (
            await db.scalars(
                select(Milestone)
                .join(FundingMilestone, FundingMilestone.milestone_id == Milestone.id)
                .where(FundingMilestone.funding_id == funding.id)
                .order_by(Milestone.position, Milestone.id)
            )
        ).all()
        reference, amount = funding.public_id, Money(funding.amount_minor, funding.currency)
        description, payer = _describe(contract, milestones), funding.client_id
        return_url = path_for("contracts:detail", contract_id=contract.id)
    try:
        checkout = await provider.create_checkout(
            reference=reference, amount=amount, description=description, payer_user_id=payer, return_url=return_url
        )
    except ProviderError:
        log.warning("checkout for funding %s could not be created", reference, exc_info=True)
        await cancel_funding(sessionmaker, funding_id, PROVIDER_DOWN)
        raise DomainError(PROVIDER_DOWN) from None
    async with sessionmaker() as db, db.begin():
        await db.execute(
            update(Funding)
            .where(Funding.id == funding_id, Funding.provider_payment_id.is_(None))
            .values(provider_payment_id=checkout.payment_id, checkout_url=checkout.url)
        )
    return checkout.url


async def cancel_funding(sessionmaker: async_sessionmaker[AsyncSession], funding_id: int, why: str) -> bool:
    """Close an open funding that was never paid (compare-and-set). A payment that still arrives
    for it later is refunded in full by `apply_payment`."""
    async with sessionmaker() as db, db.begin():
        return await _close_open(db, funding_id, why)


async def _close_open(db: AsyncSession, funding_id: int, why: str) -> bool:
    result = await db.execute(
        update(Funding)
        .where(Funding.id == funding_id, Funding.status == FundingStatus.open)
        .values(status=FundingStatus.failed, failure_message=why, decided_at=utcnow())
        .returning(Funding.contract_id, Funding.client_id)
    )
    row = result.one_or_none()
    if row is not None:
        publish(db, row.client_id, f"contract-{row.contract_id}", {"changed": True})
    return row is not None


async def cancel_by_client(db: AsyncSession, contract_id: int, funding_public_id: str, client: User) -> Funding:
    """The client gives up a checkout in progress ("Cancel this payment")."""
    contract = await contract_for(db, contract_id, client, lock=True)
    funding = await db.scalar(
        select(Funding).where(Funding.public_id == funding_public_id, Funding.contract_id == contract.id)
    )
    if funding is None or client.id != contract.client_id:
        raise NotFound(contract_id)
    if not await _close_open(db, funding.id, "You cancelled this payment. Nothing was charged."):
        raise DomainError("This payment is no longer in progress.")
    await audit(db, contract, "funding_cancelled", client.id, funding=funding.public_id)
    await db.refresh(funding)
    return funding


async def apply_payment(db: AsyncSession, payment: Payment) -> None:
    """Apply what the provider says about a payment (re-read by the caller, never taken from a
    webhook's body). Idempotent: run it twice, or for an older state after a newer one, and
    money moves once. The caller commits."""
    funding = await db.scalar(select(Funding).where(Funding.public_id == payment.reference))
    if funding is None:
        log.warning("payment %s names no funding (%r); ignored", payment.id, payment.reference)
        return
    if funding.provider_payment_id not in (None, payment.id):
        log.warning("payment %s is not the one of funding %s; ignored", payment.id, funding.public_id)
        return
    # Same lock order as amendments and funding: the contract, then its milestones.
    contract = await db.scalar(select(Contract).where(Contract.id == funding.contract_id).with_for_update())
    assert contract is not None
    await db.refresh(funding, with_for_update=True)
    if funding.provider_payment_id is None:
        funding.provider_payment_id = payment.id
    if payment.state == PaymentState.pending:
        return
    if payment.state == PaymentState.failed:
        if funding.status == FundingStatus.open:
            why = payment.failure_message or "The card was declined."
            funding.status, funding.decided_at = FundingStatus.failed, utcnow()
            funding.failure_message = f"{why} Nothing was charged; you can fund the milestone again."
            await audit(db, contract, "funding_failed", None, funding=funding.public_id, reason=why)
            publish(db, contract.client_id, f"contract-{contract.id}", {"changed": True})
            client = (await parties_of(db, contract))[contract.client_id]
            await notify(db, client, "funding.failed", link=contract_path(contract.id), contract=contract.title,
                         milestone=await _titles_of(db, funding), amount=_amount(funding), reason=why)  # fmt: skip
        return
    if funding.status in (FundingStatus.paid, FundingStatus.refunded):
        return  # applied before: a replayed or late webhook
    milestones = list(
        (
            await db.scalars(
                select(Milestone)
                .join(FundingMilestone, FundingMilestone.milestone_id == Milestone.id)
                .where(FundingMilestone.funding_id == funding.id)
                .order_by(Milestone.id)
                .with_for_update()
            )
        ).all()
    )
    expected = Money(funding.amount_minor, funding.currency)
    fundable = (
        funding.status == FundingStatus.open
        and contract.status == ContractStatus.active
        and payment.amount == expected
        and all(m.status == MilestoneStatus.pending for m in milestones)
    )
    if fundable:
        await _fund(db, contract, funding, milestones)
    else:
        await _refund_whole(db, contract, funding, payment)


async def _fund(db: AsyncSession, contract: Contract, funding: Funding, milestones: list[Milestone]) -> None:
    now = utcnow()
    funding.status, funding.decided_at = FundingStatus.paid, now
    clearing = await account(db, AccountKind.provider_clearing, funding.currency)
    escrow = await account(db, AccountKind.escrow, funding.currency, contract_id=contract.id)
    entries = []
    for m in milestones:
        amount = Money(m.amount_minor, m.currency)
        entry = await post_entry(
            db,
            EntryKind.funding,
            [(clearing, -amount), (escrow, amount)],
            reference=f"funding:{funding.public_id}:{m.id}",
            description=f"Funded “{m.title}”",
            contract_id=contract.id,
            milestone_id=m.id,
            actor_id=funding.client_id,
        )
        entries.append(entry)
        m.status, m.funded_at = MilestoneStatus.funded, now
        await audit(db, contract, "milestone_funded", funding.client_id, milestone_id=m.id, amount_minor=m.amount_minor,
              currency=m.currency, funding=funding.public_id)  # fmt: skip
    await issue_receipt(db, funding, contract, entries[0])  # numbered at commit (decision 0040)
    # The client who paid sees it on the page they come back to; the contractor is told.
    notify_parties(db, contract)
    contractor = (await parties_of(db, contract))[contract.contractor_id]
    for m in milestones:
        await notify(db, contractor, "milestone.funded", link=milestone_path(contract.id, m.id),
                     contract=contract.title, milestone=m.title, amount=format_minor(m.amount_minor, m.currency))  # fmt: skip


async def _refund_whole(db: AsyncSession, contract: Contract, funding: Funding, payment: Payment) -> None:
    """Money arrived that can fund nothing (the checkout was cancelled or the milestones changed
    meanwhile, or the amount is not the funding's): it passes through escrow and back to the
    client in the ledger, and the provider refunds it in full."""
    amount = payment.amount
    clearing = await account(db, AccountKind.provider_clearing, amount.currency)
    escrow = await account(db, AccountKind.escrow, amount.currency, contract_id=contract.id)
    refunds = await account(db, AccountKind.refunds, amount.currency, user_id=funding.client_id)
    await post_entry(db, EntryKind.funding, [(clearing, -amount), (escrow, amount)],
                     reference=f"funding:{funding.public_id}", description="A payment that could fund nothing",
                     contract_id=contract.id, actor_id=funding.client_id)  # fmt: skip
    await post_entry(db, EntryKind.refund, [(escrow, -amount), (refunds, amount)],
                     reference=f"refund:{funding.public_id}", description="Refunded in full: it could fund nothing",
                     contract_id=contract.id, actor_id=None)  # fmt: skip
    funding.status, funding.decided_at = FundingStatus.refunded, utcnow()
    funding.failure_message = (
        "The payment arrived after these milestones could no longer be funded, so it is refunded in full."
    )
    defer(db, "refund_payment", funding_id=funding.id, payment_id=payment.id, amount_minor=amount.amount_minor,
          currency=amount.currency, key=f"refund:{funding.public_id}", client_id=funding.client_id)  # fmt: skip
    await audit(db, contract, "funding_refunded", None, funding=funding.public_id, amount_minor=amount.amount_minor,
          currency=amount.currency)  # fmt: skip
    publish(db, contract.client_id, f"contract-{contract.id}", {"changed": True})
    client = (await parties_of(db, contract))[contract.client_id]
    await notify(db, client, "funding.refunded", link=contract_path(contract.id), contract=contract.title,
                 milestone=await _titles_of(db, funding), amount=str(amount))  # fmt: skip


def _amount(funding: Funding) -> str:
    return format_minor(funding.amount_minor, funding.currency)


async def _titles_of(db: AsyncSession, funding: Funding) -> str:
    """The titles of the milestones a funding is for, as one line: “Design”, “Build”."""
    titles = await db.scalars(
        select(Milestone.title)
        .join(FundingMilestone, FundingMilestone.milestone_id == Milestone.id)
        .where(FundingMilestone.funding_id == funding.id)
        .order_by(Milestone.position, Milestone.id)
    )
    return "”, “".join(titles.all())
