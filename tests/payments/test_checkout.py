"""The sandbox's hosted checkout at /checkout/<id>: the payer pays with a test card, the result
leaves as one sandbox event with its delivery written in the same transaction."""

from __future__ import annotations

import asyncio
import html

import pytest
from sqlalchemy import func, select

from app.payments.models import SandboxPayment
from app.worker.models import OutboxJob
from tests.payments.conftest import events_of, new_checkout

pytestmark = pytest.mark.usefixtures("held_webhooks")  # what is sent is looked at, not where it lands


async def payment(db, payment_id: str) -> SandboxPayment:
    db.expire_all()
    row = await db.get(SandboxPayment, payment_id)
    assert row is not None
    return row


async def deliveries(db) -> list[dict]:
    rows = await db.scalars(select(OutboxJob).where(OutboxJob.function == "deliver_sandbox_webhook"))
    return [row.kwargs for row in rows]


async def test_the_payer_sees_what_is_paid_the_sandbox_and_its_test_cards(client, provider):
    checkout = await new_checkout(provider, client.user)
    assert checkout.url == f"/checkout/{checkout.payment_id}"
    assert checkout.payment_id.startswith("sbpay_") and len(checkout.payment_id) >= 38

    page = await client.get(checkout.url)

    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "Escrow for Shop website: “Design”" in text and "€1,200.00" in text
    assert "sandbox" in text.lower() and "no card is charged" in text
    for card in ("4242 4242 4242 4242", "4000 0000 0000 0002", "4000 0027 6000 3184"):
        assert card in text
    assert '<label class="field__label" for="field-card_number">Card number</label>' in page.text
    assert 'name="card_number"' in page.text and ">Pay</button>" in page.text
    assert 'name="_csrf_token"' in page.text


async def test_the_succeeding_card_pays_once_and_sends_the_browser_back(client, provider, db):
    checkout = await new_checkout(provider, client.user)

    answer = await client.post_form(f"{checkout.url}/pay", {"card_number": "4242 4242 4242 4242"})

    assert answer.status_code == 303 and answer.headers["location"] == "/dashboard"
    back = await client.get("/dashboard")
    assert "Payment received. We are confirming it now" in html.unescape(back.text)
    row = await payment(db, checkout.payment_id)
    assert (row.status, row.card_last4, row.last_error) == ("succeeded", "4242", "")
    events = await events_of(db, checkout.payment_id)
    assert [e.type for e in events] == ["payment.succeeded"]
    assert await deliveries(db) == [{"event_id": events[0].id}]
    assert (await provider.retrieve(checkout.payment_id)).state == "succeeded"

    again = await client.get(checkout.url)  # the page now says it is paid; no card field
    assert "This payment went through with the card ending 4242" in again.text
    assert 'name="card_number"' not in again.text


async def test_the_declined_card_charges_nothing_and_says_so(client, provider, db):
    checkout = await new_checkout(provider, client.user, return_url="/contracts")

    answer = await client.post_form(f"{checkout.url}/pay", {"card_number": "4000000000000002"})

    assert answer.status_code == 303 and answer.headers["location"] == "/contracts"
    row = await payment(db, checkout.payment_id)
    assert (row.status, row.last_error) == ("failed", "Your card was declined.")
    assert [e.type for e in await events_of(db, checkout.payment_id)] == ["payment.failed"]
    retrieved = await provider.retrieve(checkout.payment_id)
    assert (retrieved.state, retrieved.failure_message) == ("failed", "Your card was declined.")

    page = await client.get(checkout.url)
    assert "Your card was declined. Nothing was charged." in page.text
    assert 'href="/contracts"' in page.text and 'name="card_number"' not in page.text


async def test_the_card_that_asks_for_a_second_step_pays_on_confirm(client, provider, db):
    checkout = await new_checkout(provider, client.user)

    answer = await client.post_form(f"{checkout.url}/pay", {"card_number": "4000 0027 6000 3184"})

    assert answer.status_code == 303 and answer.headers["location"] == checkout.url
    assert (await payment(db, checkout.payment_id)).status == "requires_action"
    assert await events_of(db, checkout.payment_id) == []
    assert (await provider.retrieve(checkout.payment_id)).state == "pending"
    page = await client.get(checkout.url)
    assert ">Confirm</button>" in page.text and f'action="{checkout.url}/confirm"' in page.text
    assert 'name="card_number"' not in page.text

    confirmed = await client.post_form(f"{checkout.url}/confirm")

    assert confirmed.status_code == 303 and confirmed.headers["location"] == "/dashboard"
    assert (await payment(db, checkout.payment_id)).status == "succeeded"
    assert [e.type for e in await events_of(db, checkout.payment_id)] == ["payment.succeeded"]
    twice = await client.post_form(f"{checkout.url}/confirm")
    assert twice.status_code == 303 and twice.headers["location"] == checkout.url
    assert len(await events_of(db, checkout.payment_id)) == 1


async def test_confirm_before_a_card_changes_nothing(client, provider, db):
    checkout = await new_checkout(provider, client.user)
    answer = await client.post_form(f"{checkout.url}/confirm")
    assert answer.status_code == 303 and answer.headers["location"] == checkout.url
    assert (await payment(db, checkout.payment_id)).status == "requires_payment_method"
    assert await events_of(db, checkout.payment_id) == []


@pytest.mark.parametrize(
    "typed",
    ["4111 1111 1111 1111", "", "4242", "4242 4242 4242 4243", "٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢", "4" * 1_000_000],
)
async def test_any_other_number_is_refused_next_to_the_field(client, provider, db, typed):
    checkout = await new_checkout(provider, client.user)

    answer = await client.post_form(f"{checkout.url}/pay", {"card_number": typed})

    assert answer.status_code == 422
    assert 'aria-invalid="true"' in answer.text
    assert 'id="field-card_number-error"' in answer.text
    assert "Use one of the sandbox test cards listed above." in answer.text
    assert (await payment(db, checkout.payment_id)).status == "requires_payment_method"
    assert await events_of(db, checkout.payment_id) == []


async def test_a_nul_byte_is_refused_plainly(client, provider, db):
    checkout = await new_checkout(provider, client.user)
    answer = await client.post_form(f"{checkout.url}/pay", {"card_number": "4242 4242 4242 4242\x00"})
    assert answer.status_code == 400 and "control character" in answer.text
    assert (await payment(db, checkout.payment_id)).status == "requires_payment_method"
    assert await events_of(db, checkout.payment_id) == []


async def test_someone_elses_checkout_is_not_found(client, contractor, provider, db):
    checkout = await new_checkout(provider, client.user)

    assert (await contractor.get(checkout.url)).status_code == 404
    pay = await contractor.post_form(f"{checkout.url}/pay", {"card_number": "4242 4242 4242 4242"})
    assert pay.status_code == 404
    assert (await contractor.post_form(f"{checkout.url}/confirm")).status_code == 404
    assert (await client.get("/checkout/sbpay_no_such_payment")).status_code == 404
    assert (await payment(db, checkout.payment_id)).status == "requires_payment_method"
    assert await events_of(db, checkout.payment_id) == []


async def test_a_visitor_is_sent_to_sign_in(anonymous, client, provider):
    checkout = await new_checkout(provider, client.user)

    answer = await anonymous.get(checkout.url)

    assert answer.status_code in (302, 303)
    assert answer.headers["location"].startswith("/login?next=")


async def test_paying_twice_makes_one_event(client, provider, db):
    checkout = await new_checkout(provider, client.user)
    card = {"card_number": "4242 4242 4242 4242"}

    answers = await asyncio.gather(*(client.post_form(f"{checkout.url}/pay", card) for _ in range(4)))
    late = await client.post_form(f"{checkout.url}/pay", {"card_number": "4000 0000 0000 0002"})

    assert {a.status_code for a in answers} == {303} and late.status_code == 303
    assert late.headers["location"] == checkout.url  # shows the result instead of paying again
    assert (await payment(db, checkout.payment_id)).status == "succeeded"
    assert [e.type for e in await events_of(db, checkout.payment_id)] == ["payment.succeeded"]
    assert len(await deliveries(db)) == 1
    assert await db.scalar(select(func.count()).select_from(SandboxPayment)) == 1


@pytest.mark.parametrize("return_url", ["https://evil.example/phish", "//evil.example/phish", "/\\evil.example"])
async def test_a_return_address_off_this_site_is_not_followed(client, provider, return_url):
    checkout = await new_checkout(provider, client.user, return_url=return_url)

    answer = await client.post_form(f"{checkout.url}/pay", {"card_number": "4242 4242 4242 4242"})

    assert answer.status_code == 303 and answer.headers["location"] == "/dashboard"
    page = await client.get(checkout.url)
    assert "evil.example" not in page.text
