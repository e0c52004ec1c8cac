"""SandboxProvider through the PaymentProvider interface: retrieve and refund (Stripe's adapter:
tests/payments/test_stripe_*.py)."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from app.config import ConfigurationError
from app.money import Money
from app.payments.models import SandboxRefund
from app.payments.provider import ProviderError
from app.payments.providers import get_provider
from app.payments.sandbox import RefundRefused, SandboxProvider
from app.payments.stripe import StripeProvider
from tests.payments.conftest import events_of, new_checkout

pytestmark = pytest.mark.usefixtures("held_webhooks")


async def paid(client, provider, amount=50_000):
    checkout = await new_checkout(provider, client.user, amount=amount)
    answer = await client.post_form(f"{checkout.url}/pay", {"card_number": "4242424242424242"})
    assert answer.status_code == 303
    return checkout.payment_id


async def test_get_provider_gives_the_sandbox_or_stripe_and_refuses_the_rest(app):
    settings = app.state.settings
    assert isinstance(get_provider(settings, app.state.sessionmaker), SandboxProvider)
    stripe = dataclasses.replace(settings, payments_provider="stripe")
    assert isinstance(get_provider(stripe, app.state.sessionmaker), StripeProvider)
    with pytest.raises(ConfigurationError, match="choose sandbox or stripe"):
        get_provider(dataclasses.replace(settings, payments_provider="paypal"), app.state.sessionmaker)


async def test_retrieve_reports_the_payment_as_it_is_now(client, provider):
    checkout = await new_checkout(provider, client.user)
    fresh = await provider.retrieve(checkout.payment_id)
    assert (fresh.state, fresh.amount, fresh.reference, fresh.refunded_minor) == (
        "pending", Money(120_000, "EUR"), f"fund_test_{client.user.id}", 0)  # fmt: skip
    with pytest.raises(ProviderError):
        await provider.retrieve("sbpay_nobody_made_this")


async def test_a_refund_happens_once_per_key_and_never_beyond_what_was_paid(client, provider, db):
    payment_id = await paid(client, provider)

    first = await provider.refund(payment_id, Money(20_000, "EUR"), idempotency_key="refund:one")
    again = await provider.refund(payment_id, Money(20_000, "EUR"), idempotency_key="refund:one")

    assert first == again and first.startswith("sbre_")
    assert (await provider.retrieve(payment_id)).refunded_minor == 20_000
    with pytest.raises(RefundRefused):
        await provider.refund(payment_id, Money(30_001, "EUR"), idempotency_key="refund:two")
    second = await provider.refund(payment_id, Money(30_000, "EUR"), idempotency_key="refund:three")
    assert second != first
    assert (await provider.retrieve(payment_id)).refunded_minor == 50_000
    assert len((await db.scalars(select(SandboxRefund))).all()) == 2
    types = sorted(e.type for e in await events_of(db, payment_id))
    assert types == ["payment.succeeded", "refund.succeeded", "refund.succeeded"]


async def test_an_unpaid_payment_cannot_be_refunded(client, provider):
    checkout = await new_checkout(provider, client.user)
    with pytest.raises(RefundRefused):
        await provider.refund(checkout.payment_id, Money(1, "EUR"), idempotency_key="refund:early")
    with pytest.raises(ProviderError):
        await provider.refund("sbpay_nobody_made_this", Money(1, "EUR"), idempotency_key="refund:none")
