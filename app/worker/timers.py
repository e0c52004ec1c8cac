"""Every cron-style timer, in one place. Features add their entries here (UTC, croniter syntax)."""

from __future__ import annotations

from saq import CronJob

from app.accounts.tasks import purge_failed_sign_ins
from app.escrow.tasks import auto_approve_due, purge_idempotency_keys, send_review_reminders
from app.leads.tasks import requeue_stuck_leads
from app.payments.tasks import reconcile_yesterday
from app.worker.cron import RetriedCronJob
from app.worker.tasks import purge_delivered_outbox

TIMERS: list[CronJob] = [
    CronJob(purge_delivered_outbox, cron="17 3 * * *", unique=True, timeout=300),
    CronJob(requeue_stuck_leads, cron="*/5 * * * *", unique=True, timeout=120),
    CronJob(purge_failed_sign_ins, cron="41 3 * * *", unique=True, timeout=300),
    CronJob(auto_approve_due, cron="* * * * *", unique=True, timeout=120),
    CronJob(send_review_reminders, cron="*/5 * * * *", unique=True, timeout=120),
    CronJob(purge_idempotency_keys, cron="23 * * * *", unique=True, timeout=120),
    RetriedCronJob(reconcile_yesterday, cron="30 2 * * *", timeout=900, retries=8, retry_delay=60, retry_backoff=3600),
]
