"""Refunds through the Stripe adapter: POST /v1/refunds with our idempotency key, so the same
refund asked twice (a worker's retry) is one refund at Stripe."""

from __future__ import annotations

import pytest

from app.money import Money
from app.payments.provider import PaymentState
from app.payments.stripe import StripeProvider, StripeRefused
from tests.payments.stripe_support import paid_checkout


@pytest.fixture
def provider(stripe_app):
    return StripeProvider(stripe_app.state.settings)


async def test_a_refund_asked_twice_with_one_key_is_one_refund(provider, fake_stripe):
    payment_id = await paid_checkout(provider, fake_stripe)

    first = await provider.refund(payment_id, Money(20_000, "EUR"), idempotency_key="refund:fund_refund_1")
    again = await provider.refund(payment_id, Money(20_000, "EUR"), idempotency_key="refund:fund_refund_1")

    assert first == again and first.startswith("re_")
    [refund] = fake_stripe.all_of("refund")
    assert (refund["amount"], refund["metadata"], refund["payment_intent"]) == (
        20_000, {"reference": "refund:fund_refund_1"}, fake_stripe.all_of("payment_intent")[0]["id"])  # fmt: skip
    posts = [h["idempotency-key"] for m, p, h in fake_stripe.requests if (m, p) == ("POST", "/v1/refunds")]
    assert posts == ["refund:fund_refund_1", "refund:fund_refund_1"]
    payment = await provider.retrieve(payment_id)
    assert (payment.state, payment.refunded_minor) == (PaymentState.succeeded, 20_000)


async def test_a_key_reused_for_another_amount_and_a_refund_beyond_the_payment_are_refused(provider, fake_stripe):
    payment_id = await paid_checkout(provider, fake_stripe)
    await provider.refund(payment_id, Money(20_000, "EUR"), idempotency_key="refund:a")

    with pytest.raises(StripeRefused, match="same parameters"):
        await provider.refund(payment_id, Money(25_000, "EUR"), idempotency_key="refund:a")
    with pytest.raises(StripeRefused, match="greater than unrefunded"):
        await provider.refund(payment_id, Money(30_001, "EUR"), idempotency_key="refund:b")
    await provider.refund(payment_id, Money(30_000, "EUR"), idempotency_key="refund:c")

    assert sorted(r["amount"] for r in fake_stripe.all_of("refund")) == [20_000, 30_000]
    assert (await provider.retrieve(payment_id)).refunded_minor == 50_000


async def test_a_checkout_never_paid_cannot_be_refunded(provider, fake_stripe):
    checkout = await provider.create_checkout(reference="fund_unpaid", amount=Money(1_000, "EUR"), description="x",
                                              payer_user_id=1, return_url="/dashboard")  # fmt: skip
    with pytest.raises(StripeRefused, match="never paid"):
        await provider.refund(checkout.payment_id, Money(1_000, "EUR"), idempotency_key="refund:unpaid")
    assert fake_stripe.all_of("refund") == []
