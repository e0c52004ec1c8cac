"""The amendment proposal form: what a person typed, read into the changes the service checks."""

from __future__ import annotations

from typing import Any

from app.web.forms import checkbox, text

# The form's "add a milestone" groups: the first is always shown, the others behind "Add more".
ADD_SLOTS = ("add", "add2", "add3")
ADD_PARTS = ("title", "criteria", "amount", "due")


def read_changes(
    data: dict[str, Any], milestone_ids: list[int]
) -> tuple[dict[str, str], list[dict[str, Any]], dict[str, list[str]]]:
    """The proposal form as typed (to re-render it), the change list the service checks, and
    what can be told from the form alone."""
    names = [f"{slot}_{part}" for slot in ADD_SLOTS for part in ADD_PARTS] + ["settlement_note", "reason"]
    form = {name: text(data, name) for name in names}
    form["terminate"] = "on" if checkbox(data, "terminate") else ""
    changes: list[dict[str, Any]] = []
    errors: dict[str, list[str]] = {}
    if form["terminate"]:
        changes.append({"op": "terminate", "settlement_note": form["settlement_note"]})
    for mid in milestone_ids:
        amount, due, remove = text(data, f"amount_{mid}"), text(data, f"due_{mid}"), checkbox(data, f"remove_{mid}")
        no_due = checkbox(data, f"nodue_{mid}")
        form |= {f"amount_{mid}": amount, f"due_{mid}": due, f"remove_{mid}": "on" if remove else ""}
        form[f"nodue_{mid}"] = "on" if no_due else ""
        if remove:
            changes.append({"op": "remove", "milestone_id": mid})
        if due and no_due:
            errors[f"nodue_{mid}"] = ["Choose a new due date or no due date, not both."]
        if amount or due or no_due:
            change: dict[str, Any] = {"op": "change", "milestone_id": mid}
            if amount:
                change["amount_minor"] = amount
            if due or no_due:
                change["due_date"] = None if no_due else due
            changes.append(change)
    for slot in ADD_SLOTS:
        if any(form[f"{slot}_{part}"] for part in ADD_PARTS):
            changes.append(
                {
                    "op": "add",
                    "slot": slot,
                    "title": form[f"{slot}_title"],
                    "acceptance_criteria": form[f"{slot}_criteria"],
                    "amount_minor": form[f"{slot}_amount"],
                    "due_date": form[f"{slot}_due"],
                }
            )
    if form["settlement_note"] and not form["terminate"]:
        errors["terminate"] = ["Tick this box to end the contract, or leave the settlement empty."]
    return form, changes, errors
