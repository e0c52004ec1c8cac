"""The job outbox: a job is a row in the caller's transaction, handed to the queue after commit,
once; a rolled-back change queues nothing."""

import asyncio

from sqlalchemy import select, update

from app.worker.models import OutboxJob
from app.worker.outbox import defer, hand_over
from app.worker.registry import task

RUNS: list[str] = []


@task(retries=1, timeout=5)
async def outbox_probe_for_tests(ctx, *, marker: str) -> str:
    RUNS.append(marker)
    return marker


async def wait_for_runs(marker: str, count: int, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while RUNS.count(marker) < count:
        assert asyncio.get_running_loop().time() < deadline, f"{marker} ran {RUNS.count(marker)} times"
        await asyncio.sleep(0.05)


async def test_a_rolled_back_change_queues_nothing(app, db):
    defer(db, "outbox_probe_for_tests", marker="rolled-back")
    await db.flush()
    await db.rollback()
    await hand_over(app.state.sessionmaker, app.state.queue)
    await asyncio.sleep(0.3)
    assert "rolled-back" not in RUNS
    assert await db.scalar(select(OutboxJob)) is None


async def test_a_committed_job_runs_once_even_if_handed_over_again(app, db):
    defer(db, "outbox_probe_for_tests", marker="committed")
    await db.commit()  # the dispatcher is woken by the commit
    await wait_for_runs("committed", 1)
    row = await db.scalar(select(OutboxJob).execution_options(populate_existing=True))
    assert row.enqueued_at is not None

    # A dispatcher that died after enqueueing but before marking the row hands it over again.
    await db.execute(update(OutboxJob).values(enqueued_at=None))
    await db.commit()
    await hand_over(app.state.sessionmaker, app.state.queue)
    await asyncio.sleep(0.5)
    assert RUNS.count("committed") == 1


def test_an_unknown_task_is_refused_when_written():
    import pytest

    with pytest.raises(LookupError):
        defer(None, "no_such_task_anywhere")  # type: ignore[arg-type]


async def test_a_row_naming_a_removed_task_does_not_hold_up_the_others(app, db):
    db.add(OutboxJob(key="outbox-removed-task", function="a_task_a_deploy_removed", kwargs={}))
    await db.commit()
    defer(db, "outbox_probe_for_tests", marker="after-removed")
    await db.commit()
    await hand_over(app.state.sessionmaker, app.state.queue)
    await wait_for_runs("after-removed", 1)
    pending = await db.scalar(
        select(OutboxJob).where(OutboxJob.enqueued_at.is_(None)).execution_options(populate_existing=True)
    )
    assert pending is None
