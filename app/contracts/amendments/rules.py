"""What an amendment would make of the terms, and the checks a proposal passes: which milestones
may change, and each change as a typed value (app/contracts/amendments/changes.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from app.contracts.amendments.changes import (
    AddMilestone,
    Change,
    ChangeMilestone,
    EndContract,
    MilestoneRef,
    RemoveMilestone,
)
from app.contracts.amendments.forms import Proposed, ProposedAdd, ProposedEdit, ProposedEnd, ProposedRemoval
from app.contracts.models import (
    LOCKED_MILESTONE_STATES,
    Contract,
    Milestone,
    MilestoneStatus,
)
from app.contracts.terms import ContractKind, MilestoneTerms, Termination, Terms
from app.errors import FormError
from app.money import Money, MoneyError
from app.web.forms import Errors

MAX_TEXT = 4000
MAX_AMOUNT_MINOR = 10**14


def blocked_reason(milestone: Milestone) -> str | None:
    """Why a milestone can't be changed by an amendment, in plain words (None: it can)."""
    status = MilestoneStatus(milestone.status)
    if status == MilestoneStatus.pending:
        return None
    if status in LOCKED_MILESTONE_STATES:
        state = {
            MilestoneStatus.funded: "funded: its money is held in escrow",
            MilestoneStatus.submitted: "submitted: the work is being reviewed",
            MilestoneStatus.revision_requested: "being revised after review",
            MilestoneStatus.disputed: "in a dispute",
        }[status]
        return f"“{milestone.title}” is {state}, so only a dispute decision can change it."
    if status == MilestoneStatus.removed:
        return f"“{milestone.title}” was already removed."
    return f"“{milestone.title}” is {status.value.replace('_', ' ')}, so it can no longer change."


def _entry(m: Milestone) -> MilestoneTerms:
    return MilestoneTerms(m.title, m.amount_minor, m.acceptance_criteria or "", m.due_date)


def is_milestone_contract(contract: Contract) -> bool:
    return ContractKind(contract.kind) == ContractKind.milestone


def termination_of(changes: list[Change]) -> EndContract | None:
    return next((c for c in changes if isinstance(c, EndContract)), None)


def new_terms(contract: Contract, base: Terms, rows: list[Milestone], changes: list[Change]) -> Terms:
    """The current terms with `changes` applied. The milestones follow the Milestone rows, so the
    same function checks at apply time that what both signed is still what would result."""
    removed = {c.milestone_id for c in changes if isinstance(c, RemoveMilestone)}
    changed = {c.milestone_id: c for c in changes if isinstance(c, ChangeMilestone)}
    termination = termination_of(changes)
    milestones = []
    for m in rows:
        if m.status == MilestoneStatus.removed or m.id in removed:
            continue
        if termination is not None and m.status == MilestoneStatus.pending:
            continue
        entry = _entry(m)
        if (change := changed.get(m.id)) is not None:
            if change.amount_minor is not None:
                entry = replace(entry, amount_minor=change.amount_minor)
            if change.moves_due_date:
                entry = replace(entry, due_date=change.due_date)
        milestones.append(entry)
    milestones += [c.milestone() for c in changes if isinstance(c, AddMilestone)]
    terms = base
    if is_milestone_contract(contract):
        terms = terms.with_(milestones=tuple(milestones), stated_total_minor=sum(m.amount_minor for m in milestones))
    if termination is not None:
        terms = terms.with_(termination=Termination(termination.settlement_note, termination.escrow_held_minor))
    return terms


def _amount(value: Any, currency: str) -> int:
    """Minor units from an int or from what a person typed ('1200.50')."""
    if isinstance(value, bool):
        raise MoneyError("Enter an amount like 1200 or 1200.50.")
    minor = value if isinstance(value, int) else Money.parse(str(value or ""), currency).amount_minor
    if minor <= 0:
        raise MoneyError("Enter an amount above zero.")
    if minor > MAX_AMOUNT_MINOR:
        raise MoneyError("That amount is too large.")
    return minor


def _due(value: Any) -> date | None:
    if value is None or value == "":
        return None
    try:
        day = value if isinstance(value, date) else date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise ValueError("Enter a date like 2030-04-01.") from exc
    if day < date.today():
        raise ValueError("Choose a date from today on.")
    return day


def normalize_changes(
    contract: Contract, rows: list[Milestone], changes: list[Proposed], reason: str
) -> tuple[list[Change], str]:
    """Checked, canonical changes (with the titles and amounts they replace, for plain-words
    summaries) and the reason. Problems raise FormError keyed by the proposal form's field names:
    <slot>_title, <slot>_criteria, <slot>_amount, <slot>_due (slot: add, add2, …), amount_<id>, due_<id>, remove_<id>,
    settlement_note, reason, form."""
    errors = Errors()
    currency = currency_of(contract)
    by_id = {m.id: m for m in rows}
    out: list[Change] = []
    touched: set[int] = set()
    if not changes:
        errors.add(
            "form",
            "Choose at least one change: a new amount or date, a milestone to add or remove, or ending the contract.",
        )
    if any(isinstance(c, ProposedEnd) for c in changes) and len(changes) > 1:
        errors.add("form", "Ending the contract is a change on its own: leave the other changes empty.")
    for change in changes:
        if not isinstance(change, ProposedEnd) and not is_milestone_contract(contract):
            errors.add("form", "This contract is paid as a retainer: it has no milestones to change.")
            continue
        if isinstance(change, ProposedAdd):
            if (added := _check_add(change, currency, errors)) is not None:
                out.append(added)
            continue
        if isinstance(change, ProposedEnd):
            out.append(_check_terminate(change, rows, errors))
            continue
        mid = change.milestone_id
        milestone = by_id.get(mid)
        key = f"remove_{mid}" if isinstance(change, ProposedRemoval) else f"amount_{mid}"
        if milestone is None:
            errors.add("form", "That milestone is not part of this contract.")
            continue
        if (why := blocked_reason(milestone)) is not None:
            errors.add(key, why)
            continue
        if milestone.id in touched:
            errors.add(key, f"Change “{milestone.title}” or remove it, not both.")
            continue
        touched.add(milestone.id)
        if isinstance(change, ProposedRemoval):
            out.append(RemoveMilestone(_ref(milestone)))
        else:
            checked = _check_change(change, milestone, currency, errors)
            if checked is not None:
                out.append(checked)
    reason = (reason or "").strip()
    if not reason:
        errors.add("reason", "Say why, so the other party understands the change.")
    elif len(reason) > MAX_TEXT:
        errors.add("reason", "Keep it under 4 000 characters.")
    if not errors and is_milestone_contract(contract) and termination_of(out) is None:
        remaining = new_terms(contract, Terms(), rows, out).milestones
        if not remaining:
            errors.add("form", "A contract keeps at least one milestone. To stop the work, end the contract instead.")
    if errors:
        raise FormError(dict(errors))
    return out, reason


def currency_of(contract: Contract) -> str:
    return contract.draft_terms.currency


def _ref(m: Milestone) -> MilestoneRef:
    return MilestoneRef(m.id, m.title, m.amount_minor)


def _check_add(change: ProposedAdd, currency: str, errors: Errors) -> AddMilestone | None:
    """A new milestone; problems are keyed by the form group it came from (add_, add2_, …)."""
    slot = change.slot
    title = change.title.strip()
    criteria = change.acceptance_criteria.strip()
    if not title:
        errors.add(f"{slot}_title", "Give the new milestone a title.")
    elif len(title) > 200:
        errors.add(f"{slot}_title", "Keep the title under 200 characters.")
    if not criteria:
        errors.add(f"{slot}_criteria", "Say how you will both know this milestone is done.")
    elif len(criteria) > MAX_TEXT:
        errors.add(f"{slot}_criteria", "Keep it under 4 000 characters.")
    amount = due = None
    try:
        amount = _amount(change.amount, currency)
    except MoneyError as exc:
        errors.add(f"{slot}_amount", str(exc))
    try:
        due = _due(change.due_date)
    except ValueError as exc:
        errors.add(f"{slot}_due", str(exc))
    if amount is None:
        return None
    return AddMilestone(title, criteria, amount, due)


def _check_change(change: ProposedEdit, m: Milestone, currency: str, errors: Errors) -> ChangeMilestone | None:
    out = ChangeMilestone(m.id, m.title, m.amount_minor, m.due_date)
    if change.amount != "":
        try:
            amount = _amount(change.amount, currency)
        except MoneyError as exc:
            errors.add(f"amount_{m.id}", str(exc))
        else:
            if amount != m.amount_minor:
                out = replace(out, amount_minor=amount)
    if change.due_date != "":  # None: no due date any more
        try:
            due = _due(change.due_date)
        except ValueError as exc:
            errors.add(f"due_{m.id}", str(exc))
        else:
            if due != m.due_date:
                out = replace(out, due_date=due, moves_due_date=True)
    if out.amount_minor is None and not out.moves_due_date:
        if f"amount_{m.id}" not in errors and f"due_{m.id}" not in errors:
            errors.add(f"amount_{m.id}", f"The new amount and date for “{m.title}” are the same as now.")
        return None
    return out


def _check_terminate(change: ProposedEnd, rows: list[Milestone], errors: Errors) -> EndContract:
    note = change.settlement_note.strip()
    if not note:
        errors.add("settlement_note", "Say how you are settling up, for example what is owed for work already done.")
    elif len(note) > MAX_TEXT:
        errors.add("settlement_note", "Keep it under 4 000 characters.")
    for m in rows:
        if m.status in LOCKED_MILESTONE_STATES:
            errors.add("settlement_note", f"{blocked_reason(m)} The contract can end once that is settled.")
    pending = [m for m in rows if m.status == MilestoneStatus.pending]
    # Escrow does not exist yet: no money is held for any contract, so nothing moves on ending.
    return EndContract(note, 0, tuple(_ref(m) for m in pending))
