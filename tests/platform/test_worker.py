"""The worker: retries with backoff, keeps what keeps failing, re-runs it on request; sends e-mail."""

import asyncio

from click.testing import CliRunner
from sqlalchemy import select

from app.cli import main as cli
from app.mail.services import send_email_later
from app.worker.models import FailedJob
from app.worker.registry import TASKS, build_job, enqueue, task
from app.worker.runner import retry_failed

CALLS: list[str] = []


@task(retries=3, retry_delay=0.05, max_delay=0.2, timeout=5)
async def flaky_for_tests(ctx, *, fail_times: int, marker: str) -> str:
    CALLS.append(marker)
    if CALLS.count(marker) <= fail_times:
        raise RuntimeError(f"boom {CALLS.count(marker)}")
    return "done"


async def wait_until(predicate, timeout=15.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


@task(retries=4, retry_delay=20, max_delay=50, timeout=5)
async def always_fails_for_tests(ctx, *, marker: str) -> str:
    CALLS.append(marker)
    raise RuntimeError("always")


def test_retry_policy_is_exponential_with_a_ceiling(monkeypatch):
    # SAQ spreads each delay uniformly below its bound ("full jitter"); pin the spread at its top
    # to read the bound itself.
    monkeypatch.setattr("saq.utils.random", lambda: 1.0)
    job = build_job("send_email", to="a@b.c", subject="s", template="t", context={})
    assert job.retries == TASKS["send_email"].retries > 1
    delays = []
    for failures in range(1, 12):
        job.attempts = failures
        delays.append(job.next_retry_delay())
    assert delays == [5, 10, 20, 40, 80, 160, 320, 640, 1280, 1800, 1800]


async def test_the_worker_waits_twice_as_long_after_each_failure_up_to_the_ceiling(app, monkeypatch):
    """Observed on the real queue: after each failure the job is scheduled `delay` seconds ahead."""
    monkeypatch.setattr("saq.utils.random", lambda: 1.0)
    queue = app.state.queue
    job = await enqueue(queue, "always_fails_for_tests", marker="waits")
    observed = []
    for attempt in (1, 2, 3):

        async def failed_and_scheduled(attempt=attempt):
            await job.refresh()
            return job.attempts == attempt and job.status == "queued" and job.error is not None

        await wait_until(failed_and_scheduled)
        run_at = await queue.redis.zscore(queue._incomplete, job.id)
        observed.append(round(run_at - job.touched / 1000))
        # Not worth waiting for: make the retry due (score 1: long past; 0 would mean "queued
        # already"), so the worker's next poll takes it.
        await queue.redis.zadd(queue._incomplete, {job.id: 1})
    assert observed == [20, 40, 50]
    assert CALLS.count("waits") == 3


async def test_a_job_that_fails_then_succeeds_is_not_kept(app, db):
    job = await enqueue(app.state.queue, "flaky_for_tests", fail_times=2, marker="recovers")
    await job.refresh(until_complete=15)
    assert job.status == "complete"
    assert CALLS.count("recovers") == 3
    assert (await db.scalars(select(FailedJob))).all() == []


async def test_a_job_that_keeps_failing_is_kept_with_its_error_and_can_be_rerun(app, db):
    job = await enqueue(app.state.queue, "flaky_for_tests", fail_times=3, marker="stubborn")
    await job.refresh(until_complete=15)
    assert job.status == "failed"
    assert CALLS.count("stubborn") == 3, "three attempts in total"

    async def kept():
        return (await db.scalars(select(FailedJob).execution_options(populate_existing=True))).all()

    async def is_kept():
        return bool(await kept())

    await wait_until(is_kept)
    (failed,) = await kept()
    assert failed.function == "flaky_for_tests"
    assert failed.kwargs == {"fail_times": 3, "marker": "stubborn"}
    assert "boom 3" in failed.error and failed.attempts == 3

    # Re-run: the fourth call succeeds.
    key = await retry_failed(app.state.sessionmaker, failed.id)
    assert key

    async def rerun():
        return CALLS.count("stubborn") == 4

    await wait_until(rerun)
    await db.refresh(failed)
    assert failed.retried_at is not None


def test_cli_lists_failed_jobs_and_explains_unknown_ids(settings):
    runner = CliRunner()
    listing = runner.invoke(cli, ["jobs", "failed"])
    assert listing.exit_code == 0, listing.output
    missing = runner.invoke(cli, ["jobs", "retry", "999999"])
    assert missing.exit_code == 1
    assert "no failed job 999999" in missing.output


async def test_email_goes_out_over_smtp_with_html_and_text(app, db, smtp_server):
    send_email_later(
        db, to="someone@example.test", subject="Pactline test message", template="test_message", context={"name": "Sam"}
    )
    await db.commit()
    (message,) = await smtp_server.wait_for(1)
    assert message["To"] == "someone@example.test"
    assert message["Subject"] == "Pactline test message"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Sam" in text and "Sam" in html


def test_any_process_can_enqueue_every_task_without_starting_a_worker(test_env):
    """A fresh web or CLI process (no worker in it) must be able to enqueue e-mails by name."""
    import os
    import subprocess
    import sys

    env = {**os.environ, **test_env, "RUN_WORKER_IN_PROCESS": "0"}
    script = (
        "from app.worker.registry import TASKS, build_job; build_job('send_email', to='a@b.c'); print(sorted(TASKS))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    assert "'send_email'" in result.stdout and "'purge_delivered_outbox'" in result.stdout
