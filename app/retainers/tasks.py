"""The retainer timers (decision 0042): the daily extension of each active retainer's schedule,
the funding reminders and overdue notices, and the release of funded periods at their end."""

from __future__ import annotations

import logging

from app.db import utcnow
from app.retainers import services
from app.worker.batches import one_by_one

log = logging.getLogger("pactline.retainers")


async def extend_retainer_schedules(ctx: dict) -> str:
    """Daily: every active retainer keeps its current period and the next ones scheduled."""
    async with ctx["sessionmaker"]() as db:
        ids = await services.active_retainers(db)
    done = await one_by_one(ctx, ids, services.extend, log=log, what="retainer")
    return f"extended {done} of {len(ids)} retainers"


async def retainer_funding_notices(ctx: dict) -> str:
    """Every fifteen minutes: funding reminders before a period starts and on its first day, and
    the overdue notice once its first day has passed unfunded."""
    now = utcnow()
    async with ctx["sessionmaker"]() as db:
        remind = await services.due_for_funding_reminder(db, now)
        overdue = await services.due_overdue(db, now)
    reminded = await one_by_one(ctx, remind, services.remind_to_fund, log=log, what="retainer")
    marked = await one_by_one(ctx, overdue, services.mark_overdue, log=log, what="retainer")
    return f"reminded {reminded} of {len(remind)}; overdue {marked} of {len(overdue)}"


async def release_ended_periods(ctx: dict) -> str:
    """Every minute: release each funded period whose end has come (unless disputed)."""
    async with ctx["sessionmaker"]() as db:
        ids = await services.due_for_release(db, utcnow())
    done = await one_by_one(ctx, ids, services.release_ended, log=log, what="retainer")
    return f"released {done} of {len(ids)}"
