"""What people see of amendments: each change in plain words, one amendment's page and the
contract page's panel, and the paths they link to."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role, User
from app.contracts.amendments.changes import (
    AddMilestone,
    Change,
    ChangeMilestone,
    EndContract,
    RemoveMilestone,
)
from app.contracts.amendments.rules import currency_of, is_milestone_contract, termination_of
from app.contracts.models import (
    Amendment,
    AmendmentStatus,
    Contract,
    ContractStatus,
    ContractVersion,
    Milestone,
    MilestoneStatus,
    Signature,
)
from app.contracts.signing.diff import date_text
from app.contracts.terms import PlatformFee
from app.escrow.ledger import escrow_balance
from app.escrow.lifecycle import HELD_STATES
from app.money import Money, format_minor
from app.web.urls import path_for


def new_amendment_url(contract_id: int) -> str:
    return path_for("contracts:amend", contract_id=contract_id)


def amendment_url(contract_id: int, amendment_id: int) -> str:
    return path_for("contracts:amendment", contract_id=contract_id, amendment_id=amendment_id)


def panel_event(contract_id: int) -> str:
    return f"contract-{contract_id}-amendments"


def _day(day: date | None) -> str:
    return date_text(day) if day else "no due date"


def _due_words(day: date | None) -> str:
    return f"due {_day(day)}" if day else "no due date"


def describe(change: Change, currency: str, fee: PlatformFee | None = None) -> dict[str, Any]:
    """One change in plain words: {"text": …, "detail": …, "splits": [one line per milestone whose
    held money an ending splits]}. `fee`: the signed fee, to say what the contractor receives."""

    def money(minor: int) -> str:
        return format_minor(minor, currency)

    match change:
        case AddMilestone():
            return {
                "text": f"Add a milestone “{change.title}”: {money(change.amount_minor)}, {_due_words(change.due_date)}.",
                "detail": f"Done when: {change.acceptance_criteria}",
                "splits": [],
            }
        case RemoveMilestone(milestone=m):
            text = f"Remove the milestone “{m.title}” ({money(m.amount_minor)})."
            if change.refund_minor:
                text += f" It is funded: its {money(change.refund_minor)} held in escrow goes back to the client."
            return {"text": text, "detail": "", "splits": []}
        case ChangeMilestone():
            parts = []
            if change.amount_minor is not None:
                parts.append(f"amount {money(change.before_amount_minor)} → {money(change.amount_minor)}")
            if change.moves_due_date:
                parts.append(f"due date {_day(change.before_due_date)} → {_day(change.due_date)}")
            return {"text": f"Change “{change.title}”: {'; '.join(parts)}.", "detail": "", "splits": []}
    removed = ", ".join(f"“{r.title}”" for r in change.removed)
    text = "End the contract."
    if removed:
        text += f" Milestones not yet funded are removed: {removed}."
    held = money(change.escrow_held_minor)
    if change.splits:
        text += f" Money held in escrow for this contract: {held}, paid out and refunded like this:"
    else:
        text += f" Money held in escrow for this contract: {held}, so nothing is paid out or refunded."
    return {
        "text": text,
        "detail": f"Settlement: {change.settlement_note}",
        "splits": [split.terms().words(currency, fee) for split in change.splits],
    }


async def escrow_now(db: AsyncSession, contract: Contract) -> dict[str, Any]:
    """What escrow holds for `contract` now, from the ledger, and which milestones hold it:
    {"held": Money, "milestones": [{"title", "amount", "state"}], "text": one sentence}."""
    currency = currency_of(contract)
    held = await escrow_balance(db, contract.id, currency)
    rows = (
        await db.scalars(
            select(Milestone)
            .where(Milestone.contract_id == contract.id, Milestone.status.in_([*HELD_STATES, MilestoneStatus.disputed]))
            .order_by(Milestone.position, Milestone.id)
        )
    ).all()
    holding = [
        {"title": m.title, "amount": Money(m.amount_minor, m.currency), "state": HELD_WORDS[MilestoneStatus(m.status)]}
        for m in rows
    ]
    if held.is_zero:
        text = "No money is held in escrow for this contract."
    else:
        parts = [f"{h['amount']} for “{h['title']}” ({h['state']})" for h in holding]
        which = ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else "".join(parts)
        text = f"{held} is held in escrow for this contract" + (f": {which}." if which else ".")
    return {"held": held, "milestones": holding, "text": text}


HELD_WORDS = {
    MilestoneStatus.funded: "funded",
    MilestoneStatus.submitted: "work submitted",
    MilestoneStatus.revision_requested: "revision asked",
    MilestoneStatus.disputed: "in a dispute",
}


def total_change(changes: list[Change]) -> int:
    """How much the milestone total moves with these changes (minor units)."""
    delta = 0
    for c in changes:
        match c:
            case AddMilestone():
                delta += c.amount_minor
            case RemoveMilestone():
                delta -= c.milestone.amount_minor
            case ChangeMilestone(amount_minor=int(amount)):
                delta += amount - c.before_amount_minor
            case EndContract():
                delta -= sum(r.amount_minor for r in c.removed)
    return delta


async def amendment_view(db: AsyncSession, contract: Contract, amendment: Amendment, user: User) -> dict[str, Any]:
    """Everything the amendment page and the panel show about one amendment, for `user`."""
    version = await db.get(ContractVersion, amendment.version_id)
    assert version is not None
    currency = currency_of(contract)
    names = await _party_names(db, contract)
    signatures = (
        await db.scalars(select(Signature).where(Signature.version_id == version.id).order_by(Signature.created_at))
    ).all()
    signed_ids = {s.user_id for s in signatures}

    def who(uid: int) -> str:
        return "you" if uid == user.id else names[uid]

    after = version.terms.stated_total_minor or 0
    is_open = amendment.status == AmendmentStatus.proposed
    party = contract.party(user.id) and user.role != Role.admin
    return {
        "id": amendment.id,
        "url": amendment_url(contract.id, amendment.id),
        "status": AmendmentStatus(amendment.status).value,
        "is_open": is_open,
        "proposed_by_name": names[amendment.proposed_by],
        "proposed_by_you": amendment.proposed_by == user.id,
        "proposed_at": amendment.created_at,
        "decided_at": amendment.decided_at,
        "reason": amendment.reason,
        "lines": [describe(c, currency, version.terms.release_fee) for c in amendment.changes],
        "terminates": termination_of(amendment.changes) is not None,
        "shows_total": is_milestone_contract(contract),
        "total_before": Money(after - total_change(amendment.changes), currency),
        "total_after": Money(after, currency),
        "version_number": version.number,
        "version_hash": version.terms_hash,
        "signatures": [
            {
                "name": names.get(s.user_id, s.typed_name),
                "who": who(s.user_id),
                "typed_name": s.typed_name,
                "at": s.created_at,
            }
            for s in signatures
        ],
        "waiting_for": [who(uid) for uid in (contract.client_id, contract.contractor_id) if uid not in signed_ids],
        "you_signed": user.id in signed_ids,
        "can_sign": is_open and party and user.id not in signed_ids,
        "can_withdraw": is_open and party and amendment.proposed_by == user.id,
        "can_decline": is_open and party and amendment.proposed_by != user.id,
    }


async def _party_names(db: AsyncSession, contract: Contract) -> dict[int, str]:
    users = (await db.scalars(select(User).where(User.id.in_([contract.client_id, contract.contractor_id])))).all()
    return {u.id: u.name for u in users}


async def amendments_panel_context(db: AsyncSession, contract: Contract, user: User) -> dict[str, Any]:
    """The panel's data, for templates/contracts/_amendments.html as the variable `amendments`."""
    rows = (
        await db.scalars(select(Amendment).where(Amendment.contract_id == contract.id).order_by(Amendment.id.desc()))
    ).all()
    views = [await amendment_view(db, contract, a, user) for a in rows]
    current = next((v for v in views if v["is_open"]), None)
    can_propose = (
        contract.status == ContractStatus.active
        and current is None
        and contract.party(user.id)
        and user.role != Role.admin
    )
    return {
        "contract_id": contract.id,
        "event": panel_event(contract.id),
        "open": current,
        "history": [v for v in views if not v["is_open"]],
        "propose_url": new_amendment_url(contract.id) if can_propose else None,
        "contract_active": contract.status == ContractStatus.active,
    }
