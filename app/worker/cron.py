"""A timer whose failed run is tried again after a pause, not at once."""

from __future__ import annotations

import dataclasses

from saq import CronJob


@dataclasses.dataclass
class RetriedCronJob(CronJob):
    """SAQ's CronJob passes its fields on to the job it enqueues; these two make a failed run wait
    `retry_delay` seconds before the next attempt, doubling up to `retry_backoff` — a provider that
    is down for a few minutes is not asked again `retries` times within a second."""

    retry_delay: float | None = None
    retry_backoff: float | None = None
