"""Every cron-style timer, in one place. Features add their entries here (UTC, croniter syntax)."""

from __future__ import annotations

from saq import CronJob

from app.accounts.tasks import purge_failed_sign_ins
from app.escrow.tasks import auto_approve_due, purge_idempotency_keys, send_review_reminders
from app.leads.tasks import requeue_stuck_leads
from app.notifications.digest import send_digests, send_waiting_emails
from app.payments.tasks import reconcile_yesterday
from app.payouts.tasks import recover_payouts, weekly_payouts
from app.retainers.tasks import extend_retainer_schedules, release_ended_periods, retainer_funding_notices
from app.worker.cron import RetriedCronJob
from app.worker.tasks import purge_delivered_outbox

TIMERS: list[CronJob] = [
    CronJob(purge_delivered_outbox, cron="17 3 * * *", unique=True, timeout=300),
    CronJob(requeue_stuck_leads, cron="*/5 * * * *", unique=True, timeout=120),
    CronJob(purge_failed_sign_ins, cron="41 3 * * *", unique=True, timeout=300),
    CronJob(auto_approve_due, cron="* * * * *", unique=True, timeout=120),
    CronJob(send_review_reminders, cron="*/5 * * * *", unique=True, timeout=120),
    CronJob(purge_idempotency_keys, cron="23 * * * *", unique=True, timeout=120),
    CronJob(recover_payouts, cron="*/5 * * * *", unique=True, timeout=280),
    CronJob(weekly_payouts, cron="0 6 * * 1", unique=True, timeout=1800),
    CronJob(extend_retainer_schedules, cron="7 0 * * *", unique=True, timeout=600),
    CronJob(retainer_funding_notices, cron="*/15 * * * *", unique=True, timeout=280),
    CronJob(release_ended_periods, cron="* * * * *", unique=True, timeout=120),
    CronJob(send_waiting_emails, cron="* * * * *", unique=True, timeout=120),
    CronJob(send_digests, cron="*/5 * * * *", unique=True, timeout=280),
    RetriedCronJob(reconcile_yesterday, cron="30 2 * * *", timeout=900, retries=8, retry_delay=60, retry_backoff=3600),
]
