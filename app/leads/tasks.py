"""Worker side of lead intake: process with retries, then the dead-letter list."""

from __future__ import annotations

import traceback
from datetime import timedelta

from sqlalchemy import select

from app.accounts.emails import send_link
from app.accounts.models import Role, User
from app.accounts.services import start_password_reset
from app.events import publish
from app.leads import services
from app.mail.services import build_message, deliver, send_email_later
from app.web.urls import path_for
from app.worker.registry import task

LEAD_ATTEMPTS = 3


@task(retries=LEAD_ATTEMPTS, retry_delay=1.0, max_delay=30.0, timeout=60)
async def process_lead(ctx: dict, *, lead_id: int) -> str:
    job = ctx.get("job")
    try:
        async with ctx["sessionmaker"]() as db:
            lead, new_account = await services.process(db, lead_id)
            if lead is not None and lead.status == "published":
                await _tell_requester(ctx, db, lead, new_account)
            await db.commit()
            return lead.status if lead is not None else "missing"
    except Exception:
        if job is None or job.attempts >= job.retries:
            await _dead_letter(ctx, lead_id, traceback.format_exc(), job.attempts if job else 1)
        raise


async def _tell_requester(ctx: dict, db, lead, new_account: bool) -> None:
    """The requester's e-mail is a job row in the processing transaction: sent once it commits."""
    settings = ctx["settings"]
    if lead.company_id is not None:
        return  # the company sees it on its page; its own customer is theirs to answer
    if new_account:
        started = await start_password_reset(db, settings.secret_key, lead.email)
        if started is not None:
            # The set-a-password link is made by the e-mail task from the token row (ADR 0018).
            send_link(db, started[1], "lead_welcome")
    else:
        send_email_later(
            db,
            to=lead.email,
            subject="Your request is ready to publish on Pactline",
            template="lead_published",
            context={
                "name": lead.name,
                "title": lead.title,
                "link": settings.app_base_url + path_for("jobs:detail", job_id=lead.job_id),
            },
        )


async def _dead_letter(ctx: dict, lead_id: int, error: str, attempts: int) -> None:
    """Out of attempts: the lead becomes visible to admins, live, to replay or discard."""
    async with ctx["sessionmaker"]() as db:
        lead = await services.mark_failed(db, lead_id, error, attempts)
        if lead is None:
            return
        # A signal: each admin's open dead-letter page re-fetches its list.
        for admin_id in (await db.scalars(select(User.id).where(User.role == Role.admin))).all():
            publish(db, admin_id, "lead-dead-letter", {"lead_id": lead.id})
        await db.commit()


@task(retries=6, retry_delay=5.0, max_delay=1800.0, timeout=60)
async def send_quote_confirmation(ctx: dict, *, lead_id: int) -> str:
    """The link that lets a public-form request go ahead. Built here from the row (see
    services.confirmation_token), so the job carries only the lead's id."""
    settings = ctx["settings"]
    async with ctx["sessionmaker"]() as db:
        mail = await services.confirmation_mail(db, lead_id, settings.secret_key)
        if mail is None:
            return "nothing to send"
        message = build_message(
            settings,
            to=mail.to,
            subject="Confirm your request on Pactline",
            template="quote_confirm",
            context={
                "name": mail.name,
                "title": mail.title,
                "link": settings.app_base_url + path_for("leads:quote-confirm", token=mail.token),
                "hours": int(services.CONFIRMATION_LIFETIME.total_seconds() // 3600),
            },
        )
        await deliver(settings, message)  # no row is locked meanwhile
        await services.mark_confirmation_sent(db, lead_id)
        await db.commit()
        return "sent"


@task(retries=1, timeout=120)
async def requeue_stuck_leads(ctx: dict) -> int:
    """A lead whose job the queue lost is picked up here, and so is a confirmation e-mail that
    never left; unconfirmed requests past their link expire. New jobs are rows in this
    transaction (the dispatcher hands them over)."""
    async with ctx["sessionmaker"]() as db:
        count = await services.requeue_stuck(db, timedelta(minutes=5))
        await db.commit()
    return count
