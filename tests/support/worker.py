"""The job worker of one test: started on a wiped database and Redis, stopped once the test is
over with the jobs it is running finished, so nothing of one test still writes while the next
one wipes the tables (decision 0024)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from app.worker.runner import EmbeddedWorker, make_worker

# A job of a test that is still running this long after the test ended is a bug to see, not to
# wait for: the teardown fails and names it.
DRAIN_SECONDS = 30.0

log = logging.getLogger("tests.worker")


class TestWorker(EmbeddedWorker):
    """SAQ's worker, plus knowing which of its loops are inside a job (from before_process to
    after_process, failure bookkeeping included) so that stopping can wait for those and cut
    off only the loops that are waiting on Redis for a job."""

    __test__ = False  # not a test class, whatever its name says

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # A loop waiting on Redis for a job is cancelled at the end of the test, but now and then
        # the cancellation only lands when the blocking read returns (seen in redis-py 5.2 on
        # Python 3.11; cause not pinned down). A short wait bounds that; a queued job still
        # wakes a waiting loop at once.
        self.dequeue_timeout = 0.2
        self.in_job: set[asyncio.Task] = set()
        self.draining = False

    async def _before_process(self, ctx) -> None:
        self.in_job.add(asyncio.current_task())
        await super()._before_process(ctx)

    async def _after_process(self, ctx) -> None:
        try:
            await super()._after_process(ctx)
        finally:
            self.in_job.discard(asyncio.current_task())

    def _process(self, previous_task=None) -> None:
        if self.draining:  # a loop that finished its job takes no other
            if previous_task is not None:
                self.tasks.discard(previous_task)
            return
        super()._process(previous_task)

    async def begin(self) -> None:
        """SAQ's start() without its wait: the loops run as tasks of the test's event loop."""
        for startup in self.startup or ():
            await startup(self.context)
        self.tasks.update(await self.upkeep())
        for _ in range(self.concurrency):
            self._process()

    async def finish(self) -> None:
        """Let every job that started finish, then stop. The loops still waiting for a job are
        cancelled in the same step of the event loop as the last look at in_job, so none of them
        can start a job in between."""
        self.draining = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAIN_SECONDS
        while self.in_job:
            _, pending = await asyncio.wait(set(self.in_job), timeout=max(deadline - loop.time(), 0))
            if pending:
                running = sorted(job.function for job in self.job_task_contexts)
                await self._stop_now()
                raise AssertionError(
                    f"jobs still running {DRAIN_SECONDS:.0f} s after the test ended: {running}. "
                    "A job that hangs (a fake service gone, a lock never released) is a bug."
                )
        await self._stop_now()

    async def _stop_now(self) -> None:
        self.event.set()  # the upkeep loops end at once (below)
        tasks = list(self.tasks)
        for task in tasks:
            if task.get_name() == "process":  # waiting on Redis for a job: nothing to lose
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.tasks.clear()
        await self.stop()  # the thread pool and the shutdown hooks; no task left to wait for

    async def upkeep(self) -> list[asyncio.Task]:
        """SAQ's upkeep (timers scheduled, retries due, aborts, stuck jobs): a first pass before the
        test begins, so the keys it writes are there from the start, then loops that end as soon as
        the worker stops. SAQ's own sleep out their interval first (30 s for the sweep), and a
        cancellation that lands inside one of their Redis calls can be swallowed there."""
        # Each check takes its interval (a lock's lifetime in Redis).
        named = (("schedule", self.schedule), ("abort", self.abort), ("sweep", self.queue.sweep))
        checks = [(self.timers[name], check) for name, check in named]
        for seconds, check in checks:
            await check(seconds)

        async def every(seconds: float, check) -> None:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.event.wait(), seconds)
                if self.event.is_set():
                    return
                try:
                    await check(seconds)
                except Exception:
                    log.exception("worker upkeep failed")

        loop = asyncio.get_running_loop()
        return [loop.create_task(every(seconds, check), name="upkeep") for seconds, check in checks]


async def start_test_worker(app) -> TestWorker:
    worker = make_worker(app.state.resources, embedded=True, worker_class=TestWorker)
    await worker.begin()
    return worker
