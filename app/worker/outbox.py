"""`defer()`: a background job written as a row in the caller's transaction, handed to the
queue after commit by the dispatcher. A rolled-back change queues nothing; a crash between
commit and hand-over loses nothing (the dispatcher's loop picks the row up); a row whose task
finished is marked done, so a second run of it does nothing (ADR 0022)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from redis.exceptions import RedisError
from saq import Queue
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import utcnow
from app.events.services import kick_after_commit
from app.worker.models import OutboxJob
from app.worker.registry import TASKS, build_job, load_tasks

log = logging.getLogger("pactline.worker")

# Every job key made from an outbox row starts with this; the worker looks such rows up by key.
KEY_PREFIX = "outbox-"


def defer(session: AsyncSession, name: str, **kwargs: Any) -> OutboxJob:
    """Queue task `name` with `kwargs` (JSON values) once the surrounding transaction commits."""
    if name not in TASKS:
        load_tasks()
    if name not in TASKS:
        raise LookupError(f"no task named {name!r}; is its module imported by load_tasks()?")
    row = OutboxJob(key=f"{KEY_PREFIX}{uuid.uuid4().hex}", function=name, kwargs=kwargs)
    session.add(row)
    kick_after_commit(session)
    return row


async def hand_over(sessionmaker: async_sessionmaker[AsyncSession], queue: Queue, *, batch_size: int = 100) -> int:
    """Enqueue every committed job row not handed over yet; returns how many were marked."""
    total = 0
    while True:
        async with sessionmaker() as session, session.begin():
            rows = (
                await session.scalars(
                    select(OutboxJob)
                    .where(OutboxJob.enqueued_at.is_(None))
                    .order_by(OutboxJob.id)
                    .limit(batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return total
            for row in rows:
                # Handed over before a crash kept us from marking it: the queue still knows the
                # key (queued, running or finished within its ttl), so it is not run twice.
                if await queue.job(row.key) is not None:
                    continue
                try:
                    job = build_job(row.function, **row.kwargs)
                except LookupError:
                    # A task removed by a deploy must not hold up every job written after it.
                    log.error("outbox job %s names an unknown task %r; dropped", row.id, row.function)
                    continue
                job.key = row.key
                await queue.enqueue(job)
            await session.execute(
                update(OutboxJob).where(OutboxJob.id.in_([row.id for row in rows])).values(enqueued_at=utcnow())
            )
        total += len(rows)


async def hand_over_now(sessionmaker: async_sessionmaker[AsyncSession], queue: Queue) -> None:
    """For processes without a dispatcher loop (the CLI): hand committed rows over at once. With
    Redis away the rows wait for the worker's loop instead; the caller's change stands."""
    try:
        await hand_over(sessionmaker, queue)
    except (RedisError, OSError) as exc:
        log.warning("jobs not handed over yet (%s); the worker's outbox loop will", exc)


async def still_to_do(sessionmaker: async_sessionmaker[AsyncSession], key: str) -> bool:
    """False when the row is done, or gone (purged long after its hand-over, or wiped): the row
    is the truth, and a job without one has nothing left to do."""
    async with sessionmaker() as session:
        row = (await session.execute(select(OutboxJob.done_at).where(OutboxJob.key == key))).one_or_none()
    return row is not None and row.done_at is None


async def mark_done(sessionmaker: async_sessionmaker[AsyncSession], key: str) -> bool:
    """Compare-and-set: True for the run that marked the row, False if another run had."""
    async with sessionmaker() as session, session.begin():
        result = await session.execute(
            update(OutboxJob)
            .where(OutboxJob.key == key, OutboxJob.done_at.is_(None))
            .values(done_at=utcnow())
            .returning(OutboxJob.id)
        )
        return result.scalar_one_or_none() is not None
