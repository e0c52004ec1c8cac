"""deliver_sandbox_webhook: the worker posts each sandbox event, signed, to /webhooks/sandbox,
and tries again while the app does not answer 2xx."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import select

from app.money import Money
from app.payments.models import SandboxEvent, WebhookEvent
from app.payments.sandbox import webhook_secret
from app.payments.tasks import deliver_sandbox_webhook
from app.platform.signatures import verify
from app.worker.registry import TASKS
from tests.payments.conftest import Recorder, delivered, event_delivered, events_of, new_checkout, unreachable


def ctx_of(app) -> dict:
    return {"settings": app.state.settings, "sessionmaker": app.state.sessionmaker}


async def test_the_worker_posts_a_correctly_signed_event_to_the_app(app, client, provider, db, webhooks_through):
    recorder = webhooks_through(Recorder(httpx.ASGITransport(app=app)))
    checkout = await new_checkout(provider, client.user)

    await client.post_form(f"{checkout.url}/pay", {"card_number": "4242 4242 4242 4242"})
    event = await delivered(db, checkout.payment_id)

    assert event.attempts == 1
    [(request, body, status)] = recorder.sent
    assert status == 200
    assert str(request.url) == app.state.settings.app_base_url + "/webhooks/sandbox"
    verify(webhook_secret(app.state.settings), body, request.headers["stripe-signature"])
    sent = json.loads(body)
    assert sent["id"] == event.id and sent["type"] == "payment.succeeded"
    assert sent["data"] == {"object": {"id": checkout.payment_id}} and isinstance(sent["created"], int)
    received = await db.scalar(select(WebhookEvent).where(WebhookEvent.event_id == event.id))
    assert received is not None and received.processed_at is not None and received.provider == "sandbox"


async def test_an_answer_other_than_2xx_or_no_answer_is_tried_again(app, client, provider, db, webhooks_through):
    webhooks_through(httpx.MockTransport(lambda request: httpx.Response(500, json={"error": "boom"})))
    checkout = await new_checkout(provider, client.user)
    await client.post_form(f"{checkout.url}/pay", {"card_number": "4000 0000 0000 0002"})
    [event] = await events_of(db, checkout.payment_id)

    with pytest.raises(RuntimeError, match="500"):
        await deliver_sandbox_webhook(ctx_of(app), event_id=event.id)
    webhooks_through(httpx.MockTransport(unreachable))
    with pytest.raises(httpx.ConnectError):
        await deliver_sandbox_webhook(ctx_of(app), event_id=event.id)
    [event] = await events_of(db, checkout.payment_id)
    assert event.delivered_at is None and event.attempts >= 2
    assert await db.scalar(select(WebhookEvent)) is None
    spec = TASKS["deliver_sandbox_webhook"]
    assert spec.retries >= 5 and spec.timeout > 10

    webhooks_through(httpx.ASGITransport(app=app))  # the app answers again
    assert (await deliver_sandbox_webhook(ctx_of(app), event_id=event.id)).startswith("delivered")
    [event] = await events_of(db, checkout.payment_id)
    assert event.delivered_at is not None
    assert await deliver_sandbox_webhook(ctx_of(app), event_id=event.id) == "delivered already (or no such event)"
    assert len((await db.scalars(select(WebhookEvent))).all()) == 1


async def test_a_refund_event_is_delivered_and_recorded(app, client, provider, db):
    checkout = await new_checkout(provider, client.user)
    await client.post_form(f"{checkout.url}/pay", {"card_number": "4242 4242 4242 4242"})
    await provider.refund(checkout.payment_id, Money(100, "EUR"), idempotency_key="refund:delivery")

    refund = await db.scalar(select(SandboxEvent).where(SandboxEvent.type == "refund.succeeded"))
    await event_delivered(db, refund.id)
    received = await db.scalar(select(WebhookEvent).where(WebhookEvent.event_id == refund.id))
    assert received is not None and received.type == "refund.succeeded" and received.processed_at is not None
