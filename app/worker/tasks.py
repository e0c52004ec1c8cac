"""Platform housekeeping tasks."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete

from app.db import utcnow
from app.events.models import OutboxEvent
from app.worker.models import OutboxJob
from app.worker.registry import task

OUTBOX_KEEP = timedelta(days=7)


@task(retries=3, timeout=300)
async def purge_delivered_outbox(ctx: dict) -> int:
    """Delivered live events only matter for a day (the replay backlog lives in Redis); job rows
    only until the queue has them."""
    async with ctx["sessionmaker"]() as session, session.begin():
        result = await session.execute(
            delete(OutboxEvent).where(
                OutboxEvent.dispatched_at.is_not(None), OutboxEvent.dispatched_at < utcnow() - OUTBOX_KEEP
            )
        )
        jobs = await session.execute(
            delete(OutboxJob).where(OutboxJob.enqueued_at.is_not(None), OutboxJob.enqueued_at < utcnow() - OUTBOX_KEEP)
        )
    return (result.rowcount or 0) + (jobs.rowcount or 0)
