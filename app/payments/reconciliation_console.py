"""The console's side of the daily reconciliation: the runs and their differing rows, an admin's
acknowledgement (on the audit chain), and a run asked for a day (through the outbox and the
worker, never inside the request)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.audit.chain import append
from app.db import utcnow
from app.errors import DomainError, FormError, NotFound
from app.payments.models import ReconciliationMismatch, ReconciliationRun, ReconciliationStatus
from app.payments.reconciliation import BEGINNING, day_words
from app.web.forms import text
from app.worker.outbox import defer

RUNS_SHOWN = 60


@dataclass
class RunView:
    run: ReconciliationRun
    mismatches: list[ReconciliationMismatch]
    acknowledged_by: str | None


async def runs(db: AsyncSession, limit: int = RUNS_SHOWN) -> list[RunView]:
    """The latest runs, newest first, each with its differing rows."""
    rows = (await db.scalars(select(ReconciliationRun).order_by(ReconciliationRun.id.desc()).limit(limit))).all()
    ids = [r.id for r in rows]
    by_run: dict[int, list[ReconciliationMismatch]] = {i: [] for i in ids}
    if ids:
        for m in await db.scalars(
            select(ReconciliationMismatch)
            .where(ReconciliationMismatch.run_id.in_(ids))
            .order_by(ReconciliationMismatch.id)
        ):
            by_run[m.run_id].append(m)
    admin_ids = {r.acknowledged_by for r in rows if r.acknowledged_by}
    names = (
        dict((await db.execute(select(User.id, User.name).where(User.id.in_(admin_ids)))).all()) if admin_ids else {}
    )
    return [RunView(r, by_run[r.id], names.get(r.acknowledged_by)) for r in rows]


async def unacknowledged_mismatches(db: AsyncSession) -> int:
    return (
        await db.scalar(
            select(func.count())
            .select_from(ReconciliationRun)
            .where(
                ReconciliationRun.status == ReconciliationStatus.mismatched,
                ReconciliationRun.acknowledged_at.is_(None),
            )
        )
        or 0
    )


async def acknowledge(db: AsyncSession, admin: User, run_id: int) -> ReconciliationRun:
    """The admin has seen the run's differences (compare-and-set: the first click counts)."""
    run = await db.get(ReconciliationRun, run_id, with_for_update=True)
    if run is None:
        raise NotFound(run_id)
    if run.status != ReconciliationStatus.mismatched:
        raise DomainError("Only a run that found differences is acknowledged.")
    if run.acknowledged_at is not None:
        return run  # a second click, or two admins at once: the first one stands
    await db.execute(
        update(ReconciliationRun)
        .where(ReconciliationRun.id == run.id, ReconciliationRun.acknowledged_at.is_(None))
        .values(acknowledged_at=utcnow(), acknowledged_by=admin.id)
    )
    rows = await db.scalar(
        select(func.count()).select_from(ReconciliationMismatch).where(ReconciliationMismatch.run_id == run.id)
    )
    await append(db, "reconciliation_acknowledged", actor_id=admin.id, subject_type="reconciliation_run",
                 subject_id=run.id, data={"day": run.day.isoformat(), "provider": run.provider, "mismatches": rows})  # fmt: skip
    await db.refresh(run)
    return run


def read_day(data: dict[str, Any], today: date) -> date:
    """The "Run now for a day" form's date: a real day, not in the future."""
    raw = text(data, "day")
    error = None
    try:
        day = date.fromisoformat(raw) if raw and len(raw) == 10 else None
    except ValueError:
        day = None
    if day is None:
        error = "Enter a date like 2026-11-30."
    elif day > today:
        error = f"{day_words(day)} has not happened yet; choose today or an earlier day."
    elif day < BEGINNING.date():
        error = f"Choose a day from {day_words(BEGINNING.date())} on."
    if error:
        raise FormError({"day": [error]})
    return day


async def request_run(db: AsyncSession, admin: User, day: date) -> None:
    """The run goes to the worker once this transaction commits; the page shows it when done."""
    defer(db, "reconcile_day", day=day.isoformat())
    await append(db, "reconciliation_requested", actor_id=admin.id, subject_type="reconciliation_day",
                 subject_id=day.isoformat(), data={"day": day.isoformat()})  # fmt: skip
