"""Every cron-style timer, in one place. Features add their entries here (UTC, croniter syntax)."""

from __future__ import annotations

from saq import CronJob

from app.leads.tasks import requeue_stuck_leads
from app.worker.tasks import purge_delivered_outbox

TIMERS: list[CronJob] = [
    CronJob(purge_delivered_outbox, cron="17 3 * * *", unique=True, timeout=300),
    CronJob(requeue_stuck_leads, cron="*/5 * * * *", unique=True, timeout=120),
]
