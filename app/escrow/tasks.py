"""The worker side of escrow: refunds at the provider, the timers that auto-approve a submission
whose review window ended and remind the client 48 h and 24 h before, and the hourly purge of
idempotency keys past their day."""

from __future__ import annotations

import logging

from app.db import utcnow
from app.escrow import lifecycle
from app.escrow.idempotency import purge
from app.money import Money
from app.worker.batches import one_by_one
from app.worker.registry import task

log = logging.getLogger("pactline.escrow")


@task(retries=8, retry_delay=10.0, max_delay=3600.0, timeout=60)
async def refund_payment(
    ctx: dict,
    *,
    funding_id: int,
    payment_id: str,
    amount_minor: int,
    currency: str,
    key: str,
    client_id: int | None = None,
) -> str:
    """Give money back through the provider that took it, then close it in the ledger: the
    client's `refunds` account → provider clearing (the money left through the provider). The
    provider keeps `key`, and the ledger entry's reference is made from it, so a retry, or a
    second run after a crash between the two steps, refunds once and posts once. The verb moved
    the money escrow → refunds already. `client_id` is the owner of that refunds account (jobs
    written before it was passed read it from the funding)."""
    from app.payments.providers import get_provider

    amount = Money(amount_minor, currency)
    provider = get_provider(ctx["settings"], ctx["sessionmaker"])
    refund_id = await provider.refund(payment_id, amount, idempotency_key=key)  # no transaction open
    async with ctx["sessionmaker"]() as db, db.begin():
        await lifecycle.close_refund(db, funding_id, amount, key=key, refund_id=refund_id, client_id=client_id)
    return f"refunded {amount_minor} {currency} of funding {funding_id} as {refund_id}"


async def auto_approve_due(ctx: dict) -> str:
    """Every minute: approve and release each submission whose review window has ended."""
    async with ctx["sessionmaker"]() as db:
        ids = await lifecycle.due_for_auto_approval(db, utcnow())
    done = await one_by_one(ctx, ids, lifecycle.auto_approve, log=log, what="milestone")
    return f"auto-approved {done} of {len(ids)}"


async def send_review_reminders(ctx: dict) -> str:
    """Every five minutes: the 48 h and 24 h reminders to clients with work to review."""
    async with ctx["sessionmaker"]() as db:
        ids = await lifecycle.due_for_reminder(db, utcnow())
    done = await one_by_one(ctx, ids, lifecycle.remind, log=log, what="milestone")
    return f"reminded {done} of {len(ids)}"


@task(retries=3, timeout=120)
async def purge_idempotency_keys(ctx: dict) -> int:
    """Keys (and the answers kept with them) live 24 hours, like Stripe's (decision 0032)."""
    return await purge(ctx["sessionmaker"])
