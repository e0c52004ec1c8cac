"""The test harness itself (decision 0024): a job that a test leaves running finishes before the
next test wipes the tables, and nothing it wrote is left for the next test. The two tests run in
this order (pytest keeps the file's order)."""

import asyncio

import pytest
from saq.job import Status
from sqlalchemy import func, select

from app.accounts.models import Role, User
from app.accounts.services import create_user
from app.worker.models import FailedJob
from app.worker.registry import enqueue, task

FINISHED: list[str] = []
LEFT_RUNNING: list[str] = []


@task(retries=1, timeout=10)
async def slow_writer_for_tests(ctx, *, marker: str) -> None:
    await asyncio.sleep(0.5)  # the test that queued it is over by now
    # Rows in two tables in one transaction, like the jobs whose locks deadlocked the old wipe.
    async with ctx["sessionmaker"]() as session, session.begin():
        await create_user(session, email=f"{marker}@example.test", name="Left Running", role=Role.client, password=None)
        session.add(FailedJob(job_key=marker, function="slow_writer_for_tests", kwargs={}, error="-", attempts=1))
    FINISHED.append(marker)


async def test_a_test_may_end_while_its_job_is_still_running(app):
    job = await enqueue(app.state.queue, "slow_writer_for_tests", marker="left-running")
    for _ in range(100):
        await job.refresh()
        if job.status == Status.ACTIVE:
            break
        await asyncio.sleep(0.02)
    assert job.status == Status.ACTIVE
    assert FINISHED == []
    LEFT_RUNNING.append("left-running")


async def test_that_job_finished_before_this_test_began_and_left_nothing_behind(db):
    if not LEFT_RUNNING:
        pytest.skip("follows the test above")
    assert FINISHED == ["left-running"]  # waited for, not cut off
    await asyncio.sleep(0.7)  # nothing of it arrives late either
    assert await db.scalar(select(func.count()).select_from(User)) == 0
    assert await db.scalar(select(func.count()).select_from(FailedJob)) == 0
