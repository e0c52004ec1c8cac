"""The task registry: every background function is declared once with its retry policy."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from saq import Job, Queue

TaskFunction = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class TaskSpec:
    function: TaskFunction
    retries: int
    retry_delay: float
    max_delay: float
    timeout: int


TASKS: dict[str, TaskSpec] = {}


def task(*, retries: int = 5, retry_delay: float = 2.0, max_delay: float = 600.0, timeout: int = 60):
    """Register `function(ctx, **kwargs)` under its name. `retries` counts attempts in total;
    the delay doubles after each failure up to `max_delay`."""

    def register(function: TaskFunction) -> TaskFunction:
        TASKS[function.__name__] = TaskSpec(function, retries, retry_delay, max_delay, timeout)
        return function

    return register


def build_job(name: str, **kwargs: Any) -> Job:
    if name not in TASKS:
        load_tasks()  # any process may enqueue (web, CLI, worker): the registry completes itself
    if name not in TASKS:
        raise LookupError(f"no task named {name!r}; is its module imported by load_tasks()?")
    spec = TASKS[name]
    return Job(
        function=name,
        kwargs=kwargs,
        retries=spec.retries,
        retry_delay=spec.retry_delay,
        retry_backoff=spec.max_delay,
        timeout=spec.timeout,
    )


async def enqueue(queue: Queue, name: str, **kwargs: Any) -> Job | None:
    return await queue.enqueue(build_job(name, **kwargs))


def load_tasks() -> None:
    """Import every module that declares tasks."""
    import app.accounts.tasks  # noqa: F401
    import app.audit.tasks  # noqa: F401
    import app.companies.tasks  # noqa: F401
    import app.contracts.documents.tasks  # noqa: F401
    import app.contracts.review.tasks  # noqa: F401
    import app.escrow.tasks  # noqa: F401
    import app.leads.tasks  # noqa: F401
    import app.mail.tasks  # noqa: F401
    import app.notifications.digest  # noqa: F401
    import app.notifications.tasks  # noqa: F401
    import app.payments.sandbox_payouts  # noqa: F401
    import app.payments.tasks  # noqa: F401
    import app.payouts.tasks  # noqa: F401
    import app.worker.tasks  # noqa: F401
