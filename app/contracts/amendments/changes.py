"""The changes an amendment makes, typed: one small value per kind of change.

Stored in `contract_amendments.changes` as they always were, a JSON list of objects keyed by
"op" ("add", "remove", "change", "terminate"); `change_from_json` reads one back and `to_json`
writes it, so amendments stored before these types load unchanged. Each change carries the titles
and amounts it replaces, so it can be told in plain words after the milestones have moved on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

from app.contracts.terms import HeldSplitTerms, MilestoneTerms


def _day(value: Any) -> date | None:
    return date.fromisoformat(value) if value else None


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True)
class AddMilestone:
    title: str
    acceptance_criteria: str
    amount_minor: int
    due_date: date | None = None
    op: ClassVar[str] = "add"

    def milestone(self) -> MilestoneTerms:
        return MilestoneTerms(self.title, self.amount_minor, self.acceptance_criteria, self.due_date)

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "title": self.title, "acceptance_criteria": self.acceptance_criteria,
                "amount_minor": self.amount_minor, "due_date": _iso(self.due_date)}  # fmt: skip


@dataclass(frozen=True)
class MilestoneRef:
    """A milestone as it was when the change was proposed."""

    milestone_id: int
    title: str
    amount_minor: int

    def to_json(self) -> dict[str, Any]:
        return {"milestone_id": self.milestone_id, "title": self.title, "amount_minor": self.amount_minor}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MilestoneRef:
        return cls(data["milestone_id"], data["title"], data["amount_minor"])


@dataclass(frozen=True)
class RemoveMilestone:
    """`refund_minor`: the milestone was funded when this was proposed, and removing it gives that
    amount back to the client (0: it held no money)."""

    milestone: MilestoneRef
    refund_minor: int = 0
    op: ClassVar[str] = "remove"

    @property
    def milestone_id(self) -> int:
        return self.milestone.milestone_id

    def to_json(self) -> dict[str, Any]:
        data = {"op": self.op, **self.milestone.to_json()}
        if self.refund_minor:
            data["refund_minor"] = self.refund_minor
        return data


@dataclass(frozen=True)
class ChangeMilestone:
    """A new amount, a new due date, or both. `amount_minor` None: the amount stays;
    `moves_due_date` False: the due date stays (True with `due_date` None: no due date any more)."""

    milestone_id: int
    title: str
    before_amount_minor: int
    before_due_date: date | None
    amount_minor: int | None = None
    due_date: date | None = None
    moves_due_date: bool = False
    op: ClassVar[str] = "change"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "op": self.op,
            "milestone_id": self.milestone_id,
            "title": self.title,
            "before": {"amount_minor": self.before_amount_minor, "due_date": _iso(self.before_due_date)},
        }
        if self.amount_minor is not None:
            data["amount_minor"] = self.amount_minor
        if self.moves_due_date:
            data["due_date"] = _iso(self.due_date)
        return data


@dataclass(frozen=True)
class HeldSplit:
    """What ending the contract does with one milestone's money held in escrow: `refund_minor`
    back to the client and `release_minor` to the contractor (less the signed fee), adding up to
    exactly `held_minor`."""

    milestone_id: int
    title: str
    held_minor: int
    refund_minor: int
    release_minor: int

    def to_json(self) -> dict[str, Any]:
        return {"milestone_id": self.milestone_id, "title": self.title, "held_minor": self.held_minor,
                "refund_minor": self.refund_minor, "release_minor": self.release_minor}  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HeldSplit:
        return cls(data["milestone_id"], data["title"], data["held_minor"], data["refund_minor"], data["release_minor"])

    def terms(self) -> HeldSplitTerms:
        return HeldSplitTerms(self.title, self.held_minor, self.refund_minor, self.release_minor)


@dataclass(frozen=True)
class EndContract:
    """Ending the contract early: the milestones not yet funded go, each milestone holding money
    is split as agreed, and the settlement is written into the terms."""

    settlement_note: str
    escrow_held_minor: int
    removed: tuple[MilestoneRef, ...] = ()
    splits: tuple[HeldSplit, ...] = ()
    op: ClassVar[str] = "terminate"

    def to_json(self) -> dict[str, Any]:
        data = {"op": self.op, "settlement_note": self.settlement_note, "escrow_held_minor": self.escrow_held_minor,
                "removed": [r.to_json() for r in self.removed]}  # fmt: skip
        if self.splits:
            data["splits"] = [s.to_json() for s in self.splits]
        return data


Change = AddMilestone | RemoveMilestone | ChangeMilestone | EndContract


def change_from_json(data: Mapping[str, Any]) -> Change:
    """One stored change; an "op" that never existed is a bug, not a change."""
    match data["op"]:
        case "add":
            return AddMilestone(
                data["title"], data["acceptance_criteria"], data["amount_minor"], _day(data["due_date"])
            )
        case "remove":
            return RemoveMilestone(MilestoneRef.from_json(data), data.get("refund_minor", 0))
        case "change":
            before = data["before"]
            return ChangeMilestone(
                data["milestone_id"],
                data["title"],
                before["amount_minor"],
                _day(before["due_date"]),
                amount_minor=data.get("amount_minor"),
                due_date=_day(data.get("due_date")),
                moves_due_date="due_date" in data,
            )
        case "terminate":
            removed = tuple(MilestoneRef.from_json(r) for r in data["removed"])
            splits = tuple(HeldSplit.from_json(s) for s in data.get("splits", ()))
            return EndContract(data["settlement_note"], data["escrow_held_minor"], removed, splits)
    raise ValueError(f"unknown amendment change {data['op']!r}")


class ChangesColumn(TypeDecorator[list[Change]]):
    """JSONB in the database, a list of typed changes in Python."""

    impl = JSONB
    cache_ok = True

    def process_bind_param(self, value: list[Change] | None, dialect: Any) -> list[dict[str, Any]] | None:
        return None if value is None else [c.to_json() for c in value]

    def process_result_value(self, value: Any, dialect: Any) -> list[Change] | None:
        return None if value is None else [change_from_json(c) for c in value]
