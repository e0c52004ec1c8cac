"""What an amendment would make of the terms, and the checks a proposal passes: which milestones
may change, and each change as a typed value (app/contracts/amendments/changes.py)."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import replace
from datetime import date
from typing import Any

from app.contracts.amendments.changes import (
    AddMilestone,
    Change,
    ChangeMilestone,
    EndContract,
    HeldSplit,
    MilestoneRef,
    RemoveMilestone,
)
from app.contracts.amendments.forms import (
    Proposed,
    ProposedAdd,
    ProposedEdit,
    ProposedEnd,
    ProposedRemoval,
    ProposedSplit,
)
from app.contracts.models import Contract, Milestone, MilestoneStatus
from app.contracts.terms import ContractKind, MilestoneTerms, Termination, Terms
from app.errors import FormError
from app.escrow.lifecycle import HELD_STATES
from app.money import CURRENCIES, Money, MoneyError, format_minor
from app.web.forms import Errors

MAX_TEXT = 4000
MAX_AMOUNT_MINOR = 10**14


def blocked_reason(milestone: Milestone) -> str | None:
    """Why a milestone can't be removed or changed by an amendment, in plain words (None: it can
    be removed; a funded one only removed, see `fixed_reason`)."""
    status = MilestoneStatus(milestone.status)
    title = milestone.title
    match status:
        case MilestoneStatus.pending | MilestoneStatus.funded:
            return None
        case MilestoneStatus.submitted:
            return (
                f"“{title}” has work waiting for the client’s review, so it can’t be removed or changed. "
                "The client can approve it or ask for a revision; to stop the work, end the contract and "
                "split the money held."
            )
        case MilestoneStatus.revision_requested:
            return (
                f"“{title}” is being revised after review, so it can’t be removed or changed. "
                "To stop the work, end the contract and split the money held."
            )
        case MilestoneStatus.disputed:
            return f"“{title}” is in a dispute, so only a dispute decision can change it."
        case MilestoneStatus.removed | MilestoneStatus.refunded:
            return f"“{title}” was already removed."
    return f"“{title}” is {status.value.replace('_', ' ')}, so it can no longer change."


def fixed_reason(milestone: Milestone) -> str | None:
    """Why a milestone's amount and due date can't change (None: they can). A funded milestone's
    money is held for exactly its amount: it can be removed (refunded in full), not changed."""
    if milestone.status == MilestoneStatus.funded:
        held = format_minor(milestone.amount_minor, milestone.currency)
        return (
            f"“{milestone.title}” is funded: its {held} is held in escrow, so its amount and due date can’t "
            "change. Remove it instead (the client gets the money back in full once you have both signed), "
            "then add a new milestone."
        )
    return blocked_reason(milestone)


def paying_reason(milestone: Milestone) -> str:
    """A checkout in progress covers this milestone: nothing may change it until it ends."""
    return f"A payment for “{milestone.title}” is in progress. Wait for it to finish or cancel it first."


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
        # A refunded row was taken out by an earlier amendment (a termination's are never amended).
        if m.status in (MilestoneStatus.removed, MilestoneStatus.refunded) or m.id in removed:
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
        splits = tuple(split.terms() for split in termination.splits)
        terms = terms.with_(termination=Termination(termination.settlement_note, termination.escrow_held_minor, splits))
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
    contract: Contract, rows: list[Milestone], changes: list[Proposed], reason: str, paying: Collection[int] = ()
) -> tuple[list[Change], str]:
    """Checked, canonical changes (with the titles and amounts they replace, for plain-words
    summaries) and the reason. `paying`: the ids of milestones with a checkout in progress.
    Problems raise FormError keyed by the proposal form's field names: <slot>_title,
    <slot>_criteria, <slot>_amount, <slot>_due (slot: add, add2, …), amount_<id>, due_<id>,
    remove_<id>, refund_<id>, release_<id>, terminate, settlement_note, reason, form."""
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
            out.append(_check_terminate(change, rows, paying, currency, errors))
            continue
        mid = change.milestone_id
        milestone = by_id.get(mid)
        key = f"remove_{mid}" if isinstance(change, ProposedRemoval) else f"amount_{mid}"
        if milestone is None:
            errors.add("form", "That milestone is not part of this contract.")
            continue
        removal = isinstance(change, ProposedRemoval)
        if (why := blocked_reason(milestone) if removal else fixed_reason(milestone)) is not None:
            errors.add(key, why)
            continue
        if milestone.id in paying:
            errors.add(key, paying_reason(milestone))
            continue
        if milestone.id in touched:
            errors.add(key, f"Change “{milestone.title}” or remove it, not both.")
            continue
        touched.add(milestone.id)
        if removal:
            refund = milestone.amount_minor if milestone.status == MilestoneStatus.funded else 0
            out.append(RemoveMilestone(_ref(milestone), refund))
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


def _check_terminate(
    change: ProposedEnd, rows: list[Milestone], paying: Collection[int], currency: str, errors: Errors
) -> EndContract:
    note = change.settlement_note.strip()
    if not note:
        errors.add("settlement_note", "Say how you are settling up, for example what is owed for work already done.")
    elif len(note) > MAX_TEXT:
        errors.add("settlement_note", "Keep it under 4 000 characters.")
    for m in rows:
        if m.status == MilestoneStatus.disputed:
            errors.add("terminate", f"{blocked_reason(m)} The contract can end once that is settled.")
        if m.id in paying:
            errors.add("terminate", paying_reason(m))
    typed = {s.milestone_id: s for s in change.splits}
    splits = []
    for m in rows:
        if m.status in HELD_STATES and (split := _check_split(m, typed.get(m.id), currency, errors)) is not None:
            splits.append(split)
    pending = [m for m in rows if m.status == MilestoneStatus.pending]
    held = sum(m.amount_minor for m in rows if m.status in HELD_STATES)
    return EndContract(note, held, tuple(_ref(m) for m in pending), tuple(splits))


def _part(value: str | int, currency: str) -> int:
    """One side of a split: minor units from what a person typed; zero is allowed."""
    if isinstance(value, bool):
        raise MoneyError("Enter an amount like 250 or 250.50, or 0 for nothing.")
    if isinstance(value, int):
        minor = value
    else:
        typed = value.strip()
        if not typed:
            raise MoneyError("Enter an amount, or 0 for nothing.")
        if len(typed) > 40:
            raise MoneyError("Enter an amount like 250 or 250.50, or 0 for nothing.")
        if typed.startswith("-"):
            raise MoneyError("An amount can’t be below zero.")
        for code, (symbol, _) in CURRENCIES.items():
            if code != currency and (symbol in typed or code in typed.upper()):
                raise MoneyError(f"This contract is paid in {currency}: enter the amount in {currency}.")
        typed = re.sub(currency, "", typed, flags=re.IGNORECASE).strip()
        try:
            minor = Money.parse(typed, currency).amount_minor
        except MoneyError:
            if re.search(r"\d[.,]\d{3,}$", typed):
                raise MoneyError(
                    f"Use at most 2 decimals: amounts in {currency} are whole cents, like 250.50."
                ) from None
            raise
    if minor < 0:
        raise MoneyError("An amount can’t be below zero.")
    if minor > MAX_AMOUNT_MINOR:
        raise MoneyError("That amount is too large.")
    return minor


def default_splits(held: Iterable[Milestone], today: date | None = None) -> dict[str, str]:
    """The split fields as the form first shows them (decision 0035): a funded milestone's money
    goes back to the client (no work was delivered), a submitted one's is released (the work was
    delivered, and the review window would release it anyway), and a milestone being revised is
    left for the two to decide."""
    form: dict[str, str] = {}
    for m in held:
        whole, cents = divmod(m.amount_minor, 100)
        amount = f"{whole}.{cents:02d}"
        if m.period_start is not None and m.status == MilestoneStatus.funded:
            # A retainer period (decision 0042): one that has begun is being worked, so it is
            # released; one that has not begun goes back to the client.
            if m.period_start <= (today or date.today()):
                form |= {f"refund_{m.id}": "0", f"release_{m.id}": amount}
            else:
                form |= {f"refund_{m.id}": amount, f"release_{m.id}": "0"}
        elif m.status == MilestoneStatus.funded:
            form |= {f"refund_{m.id}": amount, f"release_{m.id}": "0"}
        elif m.status == MilestoneStatus.submitted:
            form |= {f"refund_{m.id}": "0", f"release_{m.id}": amount}
    return form


def _check_split(m: Milestone, typed: ProposedSplit | None, currency: str, errors: Errors) -> HeldSplit | None:
    """The split of one milestone's held money; problems are keyed by its two fields."""
    held = format_minor(m.amount_minor, currency)
    if typed is None:
        errors.add(f"refund_{m.id}", f"Say how the {held} held for “{m.title}” is split.")
        return None
    parts: dict[str, int] = {}
    for side, value in (("refund", typed.refund), ("release", typed.release)):
        try:
            parts[side] = _part(value, currency)
        except MoneyError as exc:
            errors.add(f"{side}_{m.id}", str(exc))
    if len(parts) < 2:
        return None
    if parts["refund"] + parts["release"] != m.amount_minor:
        both = format_minor(parts["refund"] + parts["release"], currency)
        errors.add(
            f"release_{m.id}",
            f"The two amounts must add up to exactly the {held} held for “{m.title}”; now they add up to {both}.",
        )
        return None
    return HeldSplit(m.id, m.title, m.amount_minor, parts["refund"], parts["release"])
