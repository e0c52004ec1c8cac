"""/webhooks/sandbox: signature first, then record, re-read, apply — a replay changes nothing,
an event whose handling failed half-way is handled again."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from app.payments.models import SandboxEvent, WebhookEvent
from app.payments.provider import ProviderError
from app.payments.sandbox import SandboxProvider, webhook_secret
from app.payments.tasks import webhook_request
from app.platform.signatures import sign
from tests.payments.conftest import events_of, new_checkout

pytestmark = pytest.mark.usefixtures("held_webhooks")  # the tests deliver the events themselves

URL = "/webhooks/sandbox"


async def received(db) -> list[WebhookEvent]:
    db.expire_all()
    return list((await db.scalars(select(WebhookEvent))).all())


async def paid_event(client, provider, db, card="4242 4242 4242 4242") -> SandboxEvent:
    checkout = await new_checkout(provider, client.user)
    await client.post_form(f"{checkout.url}/pay", {"card_number": card})
    [event] = await events_of(db, checkout.payment_id)
    return event


def signed(app, payload, *, secret=None, timestamp=None) -> tuple[bytes, dict[str, str]]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    header = sign(secret or webhook_secret(app.state.settings), body, timestamp)
    return body, {"Stripe-Signature": header, "Content-Type": "application/json"}


@pytest.mark.parametrize("problem", ["no header", "wrong secret", "tampered body", "301 s old", "non-ASCII header"])
async def test_a_bad_signature_is_400_and_writes_nothing(app, anonymous, client, provider, db, problem):
    event = await paid_event(client, provider, db)
    body, headers = webhook_request(app.state.settings, event)
    if problem == "no header":
        headers.pop("Stripe-Signature")
    elif problem == "wrong secret":
        headers["Stripe-Signature"] = sign("whsec_not_ours", body)
    elif problem == "tampered body":
        body = body.replace(b"payment.succeeded", b"payment.failed")
    elif problem == "301 s old":
        headers["Stripe-Signature"] = sign(webhook_secret(app.state.settings), body, int(time.time()) - 301)
    else:
        headers["Stripe-Signature"] = headers["Stripe-Signature"].replace("v1=", "v1=é").encode()

    answer = await anonymous.post(URL, content=body, headers=headers)

    assert answer.status_code == 400 and "error" in answer.json()
    assert await received(db) == []


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[1, 2]",
        b'{"id": "evt_1", "type": "payment.succeeded"}',
        b'{"id": "evt_1", "type": "payment.succeeded", "data": {"object": {"id": 7}}}',
        b'{"id": "", "type": "payment.succeeded", "data": {"object": {"id": "sbpay_x"}}}',
        b'{"id": "evt_\\u0000", "type": "payment.succeeded", "data": {"object": {"id": "sbpay_x"}}}',
        b'{"id": "evt_\\udcff", "type": "payment.succeeded", "data": {"object": {"id": "sbpay_x"}}}',
        b"[" * 5_000,
    ],
)
async def test_a_signed_body_that_is_no_event_is_400_and_writes_nothing(app, anonymous, db, payload):
    body, headers = signed(app, payload)
    answer = await anonymous.post(URL, content=body, headers=headers)
    assert answer.status_code == 400 and "error" in answer.json()
    assert await received(db) == []


async def test_a_big_body_is_refused(app, anonymous, db):
    body, headers = signed(app, b'{"id": "' + b"x" * 200_000 + b'"}')
    answer = await anonymous.post(URL, content=body, headers=headers)
    assert answer.status_code == 413
    assert await received(db) == []


async def test_an_event_is_handled_once_and_its_replay_is_a_duplicate(app, anonymous, client, provider, db):
    event = await paid_event(client, provider, db)
    body, headers = webhook_request(app.state.settings, event)

    first = await anonymous.post(URL, content=body, headers=headers)
    again = await anonymous.post(URL, content=body, headers=headers)

    assert first.status_code == 200 and first.json() == {"status": "processed"}
    assert again.status_code == 200 and again.json() == {"status": "duplicate"}
    event_id, payment_id = event.id, event.object_id
    [row] = await received(db)
    assert (row.event_id, row.type, row.provider) == (event_id, "payment.succeeded", "sandbox")
    assert row.processed_at is not None and row.payload["data"]["object"]["id"] == payment_id


async def test_a_provider_that_cannot_answer_gets_503_and_the_retry_handles_the_event(
    app, anonymous, client, provider, db, monkeypatch
):
    event = await paid_event(client, provider, db)
    body, headers = webhook_request(app.state.settings, event)
    real_retrieve = SandboxProvider.retrieve

    async def provider_down(self, payment_id):
        raise ProviderError("the provider is down")

    monkeypatch.setattr(SandboxProvider, "retrieve", provider_down)
    failed = await anonymous.post(URL, content=body, headers=headers)

    assert failed.status_code == 503 and "error" in failed.json()
    event_id = event.id
    [row] = await received(db)
    assert row.event_id == event_id and row.processed_at is None  # kept: the retry finds it unprocessed

    monkeypatch.setattr(SandboxProvider, "retrieve", real_retrieve)
    retried = await anonymous.post(URL, content=body, headers=headers)

    assert retried.status_code == 200 and retried.json() == {"status": "processed"}
    [row] = await received(db)
    assert row.processed_at is not None
    assert await db.scalar(select(func.count()).select_from(WebhookEvent)) == 1


async def test_an_event_about_a_payment_the_provider_does_not_know_is_503(app, anonymous, db):
    payload = {"id": "sbevt_forged_but_signed", "type": "payment.succeeded", "created": int(time.time()),
               "data": {"object": {"id": "sbpay_nobody_made_this"}}}  # fmt: skip
    body, headers = signed(app, payload)
    answer = await anonymous.post(URL, content=body, headers=headers)
    assert answer.status_code == 503
    [row] = await received(db)
    assert row.processed_at is None


async def test_an_event_of_another_type_is_recorded_and_marked_processed(app, anonymous, db):
    payload = {"id": "sbevt_other", "type": "charge.dispute.created", "data": {"object": {"id": "dp_1"}}}
    body, headers = signed(app, payload)
    answer = await anonymous.post(URL, content=body, headers=headers)
    assert answer.status_code == 200
    [row] = await received(db)
    assert row.type == "charge.dispute.created" and row.processed_at is not None
