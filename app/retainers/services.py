"""A retainer's schedule of periods (decision 0042). Periods are milestone rows with a start and
an end, so funding, checkout, idempotency, refunds, disputes and the ledger are the milestones'.
This module makes the rows (at activation, then a rolling few ahead), reminds the client to fund
the next one, marks an unfunded one overdue once, and releases a funded one at its end.

Every verb takes the contract's row lock, then the period's (the order escrow and amendments
use), checks the state it starts from, and writes in the caller's transaction; a racing second
call finds the new state and does nothing. The caller commits."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.contracts.models import Contract, ContractStatus, Milestone, MilestoneStatus
from app.contracts.services import audit, current_version, milestone_path, notify_parties, parties_of
from app.contracts.terms import ContractKind, Retainer, Terms
from app.db import utcnow
from app.escrow import lifecycle
from app.escrow.models import SubmissionAnswer
from app.money import format_minor
from app.notifications import notify
from app.retainers.schedule import REMIND_BEFORE, first_start, missing

RELEASED_HOW = "automatically, at the end of the period"


def today_utc(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(UTC).date()


def day_text(day: date) -> str:
    return f"{day.day} {day.strftime('%B %Y')}"


def is_overdue(m: Milestone, today: date) -> bool:
    """An unfunded period is overdue once its first day has passed (the first day is the client's
    last reminder)."""
    return m.status == MilestoneStatus.pending and m.period_start is not None and m.period_start < today


def _add_periods(db: AsyncSession, contract: Contract, terms: Terms, anchor: date, existing: int, today: date) -> int:
    retainer = terms.retainer
    assert retainer is not None and retainer.amount_minor
    periods = missing(anchor, retainer.period, existing, today)
    for p in periods:
        db.add(
            Milestone(
                contract_id=contract.id,
                position=p.number,
                title=p.title,
                acceptance_criteria="",
                amount_minor=retainer.amount_minor,
                currency=terms.currency,
                due_date=p.start,
                period_start=p.start,
                period_end=p.end,
                status=MilestoneStatus.pending,
            )
        )
    return len(periods)


def _retainer_of(terms: Terms) -> Retainer | None:
    if terms.kind != ContractKind.retainer or terms.retainer is None or not terms.retainer.amount_minor:
        return None
    return terms.retainer


def schedule_at_activation(db: AsyncSession, contract: Contract, terms: Terms, *, now: datetime | None = None) -> int:
    """The first periods of a retainer that just became active (signing.sign, under its lock)."""
    retainer = _retainer_of(terms)
    if retainer is None:
        return 0
    today = today_utc(now)
    return _add_periods(db, contract, terms, first_start(retainer, today), 0, today)


async def extend(db: AsyncSession, contract_id: int, *, now: datetime | None = None) -> int:
    """Keep the rolling schedule ahead (the daily timer): add the periods that are missing, under
    the contract's row lock, so two runs at once add them once. Returns how many were added."""
    contract = await db.scalar(
        select(Contract).where(Contract.id == contract_id).with_for_update().execution_options(populate_existing=True)
    )
    if contract is None or contract.status != ContractStatus.active or contract.kind != ContractKind.retainer:
        return 0
    version = await current_version(db, contract)
    if version is None or _retainer_of(version.terms) is None or version.terms.termination is not None:
        return 0
    rows = (
        await db.execute(
            select(func.min(Milestone.period_start), func.count(Milestone.id)).where(
                Milestone.contract_id == contract.id, Milestone.period_start.is_not(None)
            )
        )
    ).one()
    anchor, existing = rows
    today = today_utc(now)
    if anchor is None:  # activated before retainers were scheduled: start now
        anchor = first_start(version.terms.retainer, today)  # type: ignore[arg-type]
    added = _add_periods(db, contract, version.terms, anchor, existing, today)
    if added:
        await db.flush()
        await audit(db, contract, "retainer_periods_added", None, added=added)
        notify_parties(db, contract)
    return added


async def active_retainers(db: AsyncSession, limit: int = 5000) -> list[int]:
    rows = await db.scalars(
        select(Contract.id)
        .where(Contract.status == ContractStatus.active, Contract.kind == ContractKind.retainer)
        .order_by(Contract.id)
        .limit(limit)
    )
    return list(rows.all())


def _periods_of_active_contracts():
    return (
        select(Milestone.id)
        .join(Contract, Contract.id == Milestone.contract_id)
        .where(Contract.status == ContractStatus.active, Milestone.period_start.is_not(None))
    )


# ---------------------------------------------------------------- reminders and overdue


def _reminder_due(m: Milestone, today: date) -> int:
    """1: the period starts within REMIND_BEFORE; 2: it is its first day; 0 otherwise (after its
    first day the overdue notice speaks instead)."""
    assert m.period_start is not None
    if today == m.period_start:
        return 2
    return 1 if m.period_start - REMIND_BEFORE <= today < m.period_start else 0


async def due_for_funding_reminder(db: AsyncSession, now: datetime, limit: int = 500) -> list[int]:
    today = today_utc(now)
    first = (
        (Milestone.funding_reminders_sent == 0)
        & (Milestone.period_start <= today + REMIND_BEFORE)
        & (Milestone.period_start > today)
    )
    second = (Milestone.funding_reminders_sent < 2) & (Milestone.period_start == today)
    rows = await db.scalars(
        _periods_of_active_contracts()
        .where(Milestone.status == MilestoneStatus.pending, first | second)
        .order_by(Milestone.period_start, Milestone.id)
        .limit(limit)
    )
    return list(rows.all())


async def remind_to_fund(db: AsyncSession, milestone_id: int, *, now: datetime | None = None) -> bool:
    """Tell the client to fund a period: a few days before it starts, and on its first day if it
    is still not funded. Compare-and-set on `funding_reminders_sent` under the row locks, so each
    reminder goes once; a first reminder that is already late by the second is skipped."""
    contract, m = await lifecycle._locked(db, milestone_id, None)
    today = today_utc(now)
    if contract.status != ContractStatus.active or m.status != MilestoneStatus.pending or m.period_start is None:
        return False
    due = _reminder_due(m, today)
    if due <= m.funding_reminders_sent:
        return False
    m.funding_reminders_sent = due
    client = (await parties_of(db, contract))[contract.client_id]
    starts = day_text(m.period_start)
    notify_parties(db, contract)
    await notify(db, client, "retainer.funding_due", link=milestone_path(contract.id, m.id),
                 contract=contract.title, milestone=m.title, amount=format_minor(m.amount_minor, m.currency),
                 starts=starts, started=due == 2, when="today" if due == 2 else f"before {starts}")  # fmt: skip
    await audit(db, contract, "retainer_funding_reminder", None, milestone_id=m.id, reminder=due)
    return True


async def due_overdue(db: AsyncSession, now: datetime, limit: int = 500) -> list[int]:
    today = today_utc(now)
    rows = await db.scalars(
        _periods_of_active_contracts()
        .where(
            Milestone.status == MilestoneStatus.pending, Milestone.period_start < today, Milestone.overdue_at.is_(None)
        )
        .order_by(Milestone.period_start, Milestone.id)
        .limit(limit)
    )
    return list(rows.all())


async def mark_overdue(db: AsyncSession, milestone_id: int, *, now: datetime | None = None) -> bool:
    """A period whose first day passed without funding: both sides are told once (compare-and-set
    on `overdue_at`). No money moves; the client can still fund it."""
    contract, m = await lifecycle._locked(db, milestone_id, None)
    now = now or utcnow()
    if contract.status != ContractStatus.active or m.overdue_at is not None or not is_overdue(m, today_utc(now)):
        return False
    m.overdue_at = now
    starts = day_text(m.period_start)  # type: ignore[arg-type]
    notify_parties(db, contract)
    for person in (await parties_of(db, contract)).values():
        await notify(db, person, "retainer.overdue", link=milestone_path(contract.id, m.id),
                     contract=contract.title, milestone=m.title, amount=format_minor(m.amount_minor, m.currency),
                     starts=starts, is_client=person.id == contract.client_id)  # fmt: skip
    await audit(db, contract, "retainer_period_overdue", None, milestone_id=m.id)
    return True


# ---------------------------------------------------------------- release at the period's end


def release_moment(m: Milestone) -> datetime | None:
    """A funded period is released at 00:00 UTC on its end date."""
    if m.period_end is None:
        return None
    return datetime(m.period_end.year, m.period_end.month, m.period_end.day, tzinfo=UTC)


async def due_for_release(db: AsyncSession, now: datetime, limit: int = 200) -> list[int]:
    rows = await db.scalars(
        _periods_of_active_contracts()
        .where(Milestone.status == MilestoneStatus.funded, Milestone.period_end <= today_utc(now))
        .order_by(Milestone.period_end, Milestone.id)
        .limit(limit)
    )
    return list(rows.all())


async def release_ended(db: AsyncSession, milestone_id: int, *, now: datetime | None = None) -> bool:
    """The timer's verb: release a funded period whose end has come, through the same path as an
    approval (the signed fee, the contractor's payable, the audit chain, the e-mails). False, and
    nothing changes, before its end, when it is disputed or already released."""
    contract, m = await lifecycle._locked(db, milestone_id, None)
    if contract.status != ContractStatus.active or m.status != MilestoneStatus.funded or m.period_end is None:
        return False
    if m.period_end > today_utc(now):
        return False
    await lifecycle._release(db, contract, m, None, SubmissionAnswer.auto_approved, how=RELEASED_HOW)
    return True


# ---------------------------------------------------------------- ending


async def after_ending(db: AsyncSession, contract: Contract) -> None:
    """A signed ending was applied to a retainer (amendments._apply): the schedule stops (its
    unfunded periods were removed and its held ones split as signed), and the retainer is
    completed once no period is open — at once, unless a period still holds money."""
    await audit(db, contract, "retainer_ended", None)
    await lifecycle.complete_if_done(db, contract)  # else when the last held period is finished
