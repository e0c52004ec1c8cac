"""The sandbox provider's webhook sender: each sandbox event goes to the app's `/webhooks/sandbox`
over HTTP, signed like Stripe's, retried until the app answers 2xx — the same path a real
provider's webhook takes."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta

import httpx
from sqlalchemy import update

from app.config import Settings
from app.db import utcnow
from app.payments.models import ReconciliationStatus, SandboxEvent
from app.payments.sandbox import webhook_secret
from app.platform.signatures import sign
from app.web.urls import path_for
from app.worker.registry import task

SIGNATURE_HEADER = "Stripe-Signature"
SEND_TIMEOUT_SECONDS = 30.0  # the app re-reads the payment and posts to the ledger before it answers

_transport: httpx.AsyncBaseTransport | None = None


def send_webhooks_through(transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncBaseTransport | None:
    """Send the sandbox's webhooks through `transport` instead of the network; returns the one
    it replaces. None (the default) sends them over HTTP to APP_BASE_URL, as a real provider
    would. Tests and the demo seed, which have no server listening, point it at the app itself
    in-process: `send_webhooks_through(httpx.ASGITransport(app=app))` — the request still goes
    through the app's middleware, signature check and handler."""
    global _transport
    previous, _transport = _transport, transport
    return previous


def webhook_request(
    settings: Settings, event: SandboxEvent, *, created: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of the webhook for `event`. Only ids travel: the app re-reads the
    payment from the provider, as it must with any provider."""
    body = json.dumps(
        {
            "id": event.id,
            "type": event.type,
            "created": int(event.created_at.timestamp()) if created is None else created,
            "data": {"object": {"id": event.object_id}},
        },
        separators=(",", ":"),
    ).encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(webhook_secret(settings), body, int(time.time())),
    }
    return body, headers


@task(retries=25, retry_delay=5.0, max_delay=3600.0, timeout=90)
async def deliver_sandbox_webhook(ctx: dict, *, event_id: str) -> str:
    """POST one sandbox event to `/webhooks/sandbox`. A non-2xx answer or a network error raises,
    so the worker tries again later: delays doubling from 5 s up to an hour, for most of a day
    (Stripe retries for three days). The timeout leaves the app its 30 s to answer."""
    settings: Settings = ctx["settings"]
    async with ctx["sessionmaker"]() as db, db.begin():
        event = await db.scalar(
            update(SandboxEvent)
            .where(SandboxEvent.id == event_id, SandboxEvent.delivered_at.is_(None))
            .values(attempts=SandboxEvent.attempts + 1)
            .returning(SandboxEvent)
        )
    if event is None:
        return "delivered already (or no such event)"
    body, headers = webhook_request(settings, event)
    url = settings.app_base_url + path_for("webhooks:sandbox")
    async with httpx.AsyncClient(transport=_transport, timeout=SEND_TIMEOUT_SECONDS) as http:
        response = await http.post(url, content=body, headers=headers)
    if not response.is_success:
        raise RuntimeError(f"/webhooks/sandbox answered {response.status_code}: {response.text[:200]}")
    async with ctx["sessionmaker"]() as db, db.begin():
        await db.execute(
            update(SandboxEvent)
            .where(SandboxEvent.id == event_id, SandboxEvent.delivered_at.is_(None))
            .values(delivered_at=utcnow())
        )
    return f"delivered: {response.status_code}"


# ---------------------------------------------------------------- the daily reconciliation


class ReconciliationFailed(RuntimeError):
    """The run could not finish (the provider did not answer): raised so the worker tries again."""


async def _reconcile(ctx: dict, day: date) -> str:
    from app.payments.providers import get_provider
    from app.payments.reconciliation import reconcile

    provider = get_provider(ctx["settings"], ctx["sessionmaker"])
    run = await reconcile(ctx["sessionmaker"], provider, day)
    if run.status == ReconciliationStatus.failed:
        raise ReconciliationFailed(f"reconciliation of {day.isoformat()} failed: {run.error}")
    return f"{day.isoformat()}: {run.status} ({run.checked})"


@task(retries=6, retry_delay=60.0, max_delay=3600.0, timeout=900)
async def reconcile_day(ctx: dict, *, day: str) -> str:
    """One day's reconciliation, asked for by an admin ("Run now for a day")."""
    return await _reconcile(ctx, date.fromisoformat(day))


async def reconcile_yesterday(ctx: dict) -> str:
    """Every night (app/worker/timers.py): yesterday, UTC, once the day is over. A provider that
    does not answer fails the run and raises, so the timer's job is tried again."""
    return await _reconcile(ctx, utcnow().date() - timedelta(days=1))
