"""Funding a milestone with PAYMENTS_PROVIDER=stripe: "Fund" makes a Checkout Session at the
(fake) Stripe API, the client pays on its hosted page, Stripe's signed webhook arrives, the app
re-reads the session and escrow moves the money once."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from app.escrow.models import JournalEntry
from app.web.security import CSP, security_headers
from tests.payments.stripe_support import entries_of, fund_on_stripe, state_of, webhook_rows
from tests.support.fake_stripe import DECLINED, REQUIRES_ACTION


async def test_fund_makes_a_checkout_session_with_our_reference_and_sends_the_browser_to_it(
    stripe_app, fake_stripe, client, contractor, db
):
    checkout = await fund_on_stripe(client, contractor, db)

    assert checkout.url == f"{fake_stripe.url}/pay/{checkout.session_id}"
    [session] = fake_stripe.all_of("checkout.session")
    funding_ref = session["client_reference_id"]
    assert funding_ref.startswith("fund_") and session["metadata"]["reference"] == funding_ref
    assert session["_intent_metadata"] == {"reference": funding_ref}
    assert (session["amount_total"], session["currency"], session["mode"]) == (100_000, "eur", "payment")
    assert session["success_url"] == f"http://127.0.0.1:8000/contracts/{checkout.contract_id}"
    [(method, path, headers)] = fake_stripe.requests
    assert (method, path) == ("POST", "/v1/checkout/sessions")
    assert headers["idempotency-key"] == f"checkout:{funding_ref}"
    assert await state_of(db, checkout) == ("open", "pending", "")


async def test_paid_on_stripe_the_signed_webhook_funds_the_milestone(stripe_app, fake_stripe, client, contractor, db):
    checkout = await fund_on_stripe(client, contractor, db)

    events = fake_stripe.pay(checkout.session_id)
    answers = await fake_stripe.deliver_all(events)

    assert answers == [200, 200]
    assert await state_of(db, checkout) == ("paid", "funded", "")
    entry = await db.scalar(select(JournalEntry).where(JournalEntry.contract_id == checkout.contract_id))
    assert entry.kind == "funding" and entry.reference.startswith("funding:fund_")
    assert [(r.provider, r.type, r.processed_at is not None) for r in await webhook_rows(db)] == [
        ("stripe", "payment_intent.succeeded", True), ("stripe", "checkout.session.completed", True)]  # fmt: skip
    page = await client.get(f"/contracts/{checkout.contract_id}")
    assert "Funded" in page.text


async def test_a_declined_card_fails_the_funding_and_charges_nothing(stripe_app, fake_stripe, client, contractor, db):
    checkout = await fund_on_stripe(client, contractor, db)

    [failed] = fake_stripe.pay(checkout.session_id, DECLINED)
    answer = await fake_stripe.deliver(failed)

    assert answer.status_code == 200
    status, milestone, message = await state_of(db, checkout)
    assert (status, milestone) == ("failed", "pending") and "Your card was declined." in message
    assert await entries_of(db, checkout.contract_id) == 0
    assert fake_stripe.all_of("charge") == []


async def test_requires_action_stays_pending_until_confirmed(stripe_app, fake_stripe, client, contractor, db):
    checkout = await fund_on_stripe(client, contractor, db)

    [asked] = fake_stripe.pay(checkout.session_id, REQUIRES_ACTION)
    assert (await fake_stripe.deliver(asked)).status_code == 200
    assert await state_of(db, checkout) == ("open", "pending", "")
    assert await entries_of(db, checkout.contract_id) == 0

    assert await fake_stripe.deliver_all(fake_stripe.confirm(checkout.session_id)) == [200, 200]
    assert await state_of(db, checkout) == ("paid", "funded", "")
    assert await entries_of(db, checkout.contract_id) == 1


def test_with_stripe_the_fund_forms_may_lead_to_stripes_hosted_pages_and_nowhere_else(settings):
    """ "Fund" is a plain form answered with a 303 to Checkout; browsers check that redirect
    against form-action, so Stripe's hosted pages are allowed there — with Stripe only."""
    sandbox = security_headers(settings)["Content-Security-Policy"]
    stripe = security_headers(dataclasses.replace(settings, payments_provider="stripe"))["Content-Security-Policy"]

    assert sandbox == CSP and "form-action 'self';" in sandbox
    assert "form-action 'self' https://checkout.stripe.com https://connect.stripe.com;" in stripe
    assert stripe.replace(" https://checkout.stripe.com https://connect.stripe.com", "") == CSP
