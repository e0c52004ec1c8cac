"""The amendment proposal form: what a person typed, read into proposed changes, one small value per
kind. The rules (rules.py `normalize_changes`) check them and turn them into the changes an
amendment stores (changes.py); amounts and dates stay as typed until then."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.web.forms import checkbox, text


@dataclass(frozen=True)
class ProposedAdd:
    title: str
    acceptance_criteria: str
    amount: str | int  # as typed ("1200.50"), or minor units
    due_date: str = ""
    slot: str = "add"  # the form group it came from, for its fields' messages


@dataclass(frozen=True)
class ProposedRemoval:
    milestone_id: int


@dataclass(frozen=True)
class ProposedEdit:
    """A new amount and/or due date for a milestone: "" leaves either as it is; a due date of None
    takes the due date away."""

    milestone_id: int
    amount: str | int = ""
    due_date: str | None = ""


@dataclass(frozen=True)
class ProposedSplit:
    """How a milestone's money held in escrow is split when the contract ends, as typed."""

    milestone_id: int
    refund: str | int  # back to the client: as typed ("250.50"), or minor units
    release: str | int  # to the contractor


@dataclass(frozen=True)
class ProposedEnd:
    settlement_note: str
    splits: tuple[ProposedSplit, ...] = ()


Proposed = ProposedAdd | ProposedRemoval | ProposedEdit | ProposedEnd

# The form's "add a milestone" groups: the first is always shown, the others behind "Add more".
ADD_SLOTS = ("add", "add2", "add3")
ADD_PARTS = ("title", "criteria", "amount", "due")
# An amount typed into a split is echoed back at most this long (a 1 MB field is refused, not repeated).
ECHO_MAX = 64


def read_changes(
    data: dict[str, Any], milestone_ids: list[int]
) -> tuple[dict[str, str], list[Proposed], dict[str, list[str]]]:
    """The proposal form as typed (to re-render it), the change list the service checks, and
    what can be told from the form alone."""
    names = [f"{slot}_{part}" for slot in ADD_SLOTS for part in ADD_PARTS] + ["settlement_note", "reason"]
    form = {name: text(data, name) for name in names}
    form["terminate"] = "on" if checkbox(data, "terminate") else ""
    changes: list[Proposed] = []
    errors: dict[str, list[str]] = {}
    splits = []
    for mid in milestone_ids:
        refund, release = text(data, f"refund_{mid}"), text(data, f"release_{mid}")
        form |= {f"refund_{mid}": refund[:ECHO_MAX], f"release_{mid}": release[:ECHO_MAX]}
        if f"refund_{mid}" in data or f"release_{mid}" in data:
            splits.append(ProposedSplit(mid, refund, release))
    if form["terminate"]:
        changes.append(ProposedEnd(form["settlement_note"], tuple(splits)))
    for mid in milestone_ids:
        amount, due, remove = text(data, f"amount_{mid}"), text(data, f"due_{mid}"), checkbox(data, f"remove_{mid}")
        no_due = checkbox(data, f"nodue_{mid}")
        form |= {f"amount_{mid}": amount, f"due_{mid}": due, f"remove_{mid}": "on" if remove else ""}
        form[f"nodue_{mid}"] = "on" if no_due else ""
        if remove:
            changes.append(ProposedRemoval(mid))
        if due and no_due:
            errors[f"nodue_{mid}"] = ["Choose a new due date or no due date, not both."]
        if amount or due or no_due:
            changes.append(ProposedEdit(mid, amount, None if no_due else due))
    for slot in ADD_SLOTS:
        if any(form[f"{slot}_{part}"] for part in ADD_PARTS):
            parts = [form[f"{slot}_{part}"] for part in ADD_PARTS]
            changes.append(ProposedAdd(*parts, slot=slot))
    if form["settlement_note"] and not form["terminate"]:
        errors["terminate"] = ["Tick this box to end the contract, or leave the settlement empty."]
    return form, changes, errors
