"""Builds the SAQ worker: job context, failed-job keeping, the outbox loop and the timers."""

from __future__ import annotations

import logging
import traceback

from saq import Worker
from saq.job import Status
from sqlalchemy import select

from app.db import utcnow
from app.errors import NotFound
from app.platform.resources import REDIS_SOCKET_TIMEOUT
from app.platform.secret_links import redact
from app.worker.models import FailedJob
from app.worker.outbox import KEY_PREFIX, defer, mark_done, still_to_do
from app.worker.registry import TASKS, TaskFunction, load_tasks
from app.worker.timers import TIMERS

log = logging.getLogger("pactline.worker")


class EmbeddedWorker(Worker):
    """Runs inside another process's event loop (make dev): that process owns the signals."""

    SIGNALS: list = []


async def record_failure(ctx: dict) -> None:
    job = ctx.get("job")
    if job is None or job.status != Status.FAILED:
        return
    exception = ctx.get("exception")
    error = job.error or ("".join(traceback.format_exception(exception)) if exception else "unknown error")
    # Arguments carry ids, not secrets (ADR 0018); an error message quoting a link must not either.
    error = redact(error)
    async with ctx["sessionmaker"]() as session, session.begin():
        session.add(
            FailedJob(
                job_key=job.key,
                function=job.function,
                kwargs=job.kwargs or {},
                error=error,
                attempts=job.attempts,
            )
        )
    log.error("job %s failed for good after %s attempts", job.function, job.attempts)


def once_per_row(name: str, function: TaskFunction) -> TaskFunction:
    """A job handed over from an outbox row does its effect once per row: a run that finds the
    row done (an earlier run finished, a retry, a re-delivery after the queue forgot the key) or
    gone returns at once. The row is marked after the task returns, so a process that dies between
    the effect and the mark repeats the effect once more: at least once (ADR 0022)."""

    async def run(ctx: dict, **kwargs):
        job = ctx.get("job")
        key = job.key if job is not None and job.key.startswith(KEY_PREFIX) else None
        if key is not None and not await still_to_do(ctx["sessionmaker"], key):
            log.info("job %s for outbox row %s: done already (or no such row); skipped", name, key)
            return "skipped: done already for this row"
        result = await function(ctx, **kwargs)
        if key is not None:
            await mark_done(ctx["sessionmaker"], key)
        return result

    run.__name__ = name
    run.__doc__ = function.__doc__
    return run


def make_worker(
    resources, *, embedded: bool = False, concurrency: int = 10, worker_class: type[Worker] | None = None
) -> Worker:
    """`resources` carries settings, sessionmaker, redis, queue, dispatcher (see app.platform.resources).
    `worker_class`: a subclass of EmbeddedWorker or Worker (the test harness stops its own between tests)."""
    load_tasks()
    functions = [(name, once_per_row(name, spec.function)) for name, spec in TASKS.items()]

    async def startup(ctx: dict) -> None:
        ctx.update(resources.as_context())
        if not embedded:
            # A standalone worker is the outbox safety net; in-process, the web app runs the loop.
            resources.dispatcher.start(idle_seconds=1.0)

    async def shutdown(ctx: dict) -> None:
        if not embedded:
            await resources.dispatcher.stop()

    cls = worker_class or (EmbeddedWorker if embedded else Worker)
    return cls(
        resources.queue,
        functions=functions,
        cron_jobs=TIMERS,
        concurrency=concurrency,
        startup=startup,
        shutdown=shutdown,
        after_process=record_failure,
        timers={"schedule": 1, "sweep": 30},
        # A blocking pop must come back before the client's socket timeout, or every idle wait
        # would end in a timeout error and a dropped connection.
        dequeue_timeout=REDIS_SOCKET_TIMEOUT / 2,
    )


async def retry_failed(sessionmaker, failed_id: int) -> str:
    """Run a kept failure again with its original arguments: a new outbox row, written with the
    "re-run" mark in one transaction and handed over by the dispatcher; returns its job key."""
    load_tasks()
    async with sessionmaker() as session, session.begin():
        failed = await session.scalar(select(FailedJob).where(FailedJob.id == failed_id).with_for_update())
        if failed is None:
            raise NotFound(f"no failed job {failed_id}")
        if failed.retried_at is not None:
            raise NotFound(f"failed job {failed_id} was already re-run")
        if failed.function not in TASKS:
            raise NotFound(f"task {failed.function!r} no longer exists")
        row = defer(session, failed.function, **failed.kwargs)
        failed.retried_at = utcnow()
        failed.retried_job_key = row.key
        return row.key
