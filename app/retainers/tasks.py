"""The retainer timers (decision 0042): the daily extension of each active retainer's schedule,
the funding reminders and overdue notices, and the release of funded periods at their end."""

from __future__ import annotations

import logging

from app.db import utcnow
from app.errors import DomainError
from app.retainers import services

log = logging.getLogger("pactline.retainers")


async def _each(ctx: dict, ids: list[int], verb) -> int:
    done = 0
    for row_id in ids:
        # One transaction each: a racing client action or a second timer run takes the same row
        # locks, and whoever comes second finds the new state and does nothing.
        async with ctx["sessionmaker"]() as db, db.begin():
            try:
                done += bool(await verb(db, row_id))
            except DomainError as exc:
                log.warning("retainer %s: %s", row_id, exc)
    return done


async def extend_retainer_schedules(ctx: dict) -> str:
    """Daily: every active retainer keeps its current period and the next ones scheduled."""
    async with ctx["sessionmaker"]() as db:
        ids = await services.active_retainers(db)
    done = await _each(ctx, ids, services.extend)
    return f"extended {done} of {len(ids)} retainers"


async def retainer_funding_notices(ctx: dict) -> str:
    """Every fifteen minutes: funding reminders before a period starts and on its first day, and
    the overdue notice once its first day has passed unfunded."""
    now = utcnow()
    async with ctx["sessionmaker"]() as db:
        remind = await services.due_for_funding_reminder(db, now)
        overdue = await services.due_overdue(db, now)
    reminded = await _each(ctx, remind, services.remind_to_fund)
    marked = await _each(ctx, overdue, services.mark_overdue)
    return f"reminded {reminded} of {len(remind)}; overdue {marked} of {len(overdue)}"


async def release_ended_periods(ctx: dict) -> str:
    """Every minute: release each funded period whose end has come (unless disputed)."""
    async with ctx["sessionmaker"]() as db:
        ids = await services.due_for_release(db, utcnow())
    done = await _each(ctx, ids, services.release_ended)
    return f"released {done} of {len(ids)}"
