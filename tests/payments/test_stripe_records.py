"""list_records through the Stripe adapter: every succeeded payment, refund and payout created in
the window, read page after page from Stripe's list endpoints, for the daily reconciliation."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from app.money import Money
from app.payments.stripe import StripeProvider
from tests.payments.stripe_support import paid_checkout
from tests.support.fake_stripe import FAILS_PAYOUTS, REQUIRES_ACTION


@pytest.fixture
def provider(stripe_app):
    return StripeProvider(stripe_app.state.settings)


async def test_more_than_a_page_of_payments_is_read_to_the_end_and_the_window_holds(provider, fake_stripe):
    now = datetime.now(UTC)
    for i in range(130):
        fake_stripe.seed_payment(reference=f"fund_{i:03d}", amount=1_000 + i)
    fake_stripe.seed_payment(reference="fund_yesterday", amount=5, created=int(time.time()) - 2 * 86400)
    unpaid = await provider.create_checkout(reference="fund_unpaid", amount=Money(700, "EUR"), description="x",
                                            payer_user_id=1, return_url="/dashboard")  # fmt: skip
    fake_stripe.pay(unpaid.payment_id, REQUIRES_ACTION)  # a PaymentIntent that has not succeeded

    records = await provider.list_records(since=now - timedelta(hours=1), until=now + timedelta(hours=1))

    payments = [r for r in records if r.kind == "payment"]
    assert len(payments) == 130 and len({r.id for r in payments}) == 130
    assert sorted(r.reference for r in payments) == [f"fund_{i:03d}" for i in range(130)]
    assert {r.state for r in payments} == {"succeeded"} and {r.amount.currency for r in payments} == {"EUR"}
    assert next(r for r in payments if r.reference == "fund_042").amount == Money(1_042, "EUR")
    pages = [p for m, p, _ in fake_stripe.requests if (m, p) == ("GET", "/v1/payment_intents")]
    assert len(pages) == 2  # 100, then 30 after `starting_after`


async def test_refunds_and_payouts_are_listed_with_our_references_and_states(provider, fake_stripe):
    since = datetime.now(UTC) - timedelta(minutes=5)
    payment_id = await paid_checkout(provider, fake_stripe, reference="fund_r1", amount=30_000)
    await provider.refund(payment_id, Money(10_000, "EUR"), idempotency_key="refund:fund_r1")
    good = await provider.create_payout_account(user_id=1, email="a@example.test")
    bad = await provider.create_payout_account(user_id=2, email="b@example.test")
    fake_stripe.complete_onboarding(good)
    fake_stripe.complete_onboarding(bad, account_number=FAILS_PAYOUTS)
    paid = await provider.create_payout(reference="pout_1", account_id=good, amount=Money(4_000, "EUR"),
                                        idempotency_key="payout:pout_1")  # fmt: skip
    failed = await provider.create_payout(reference="pout_2", account_id=bad, amount=Money(3_000, "EUR"),
                                          idempotency_key="payout:pout_2")  # fmt: skip
    fake_stripe.settle_payout(paid.id.split("/")[1])
    fake_stripe.settle_payout(failed.id.split("/")[1])

    records = await provider.list_records(since=since, until=datetime.now(UTC) + timedelta(minutes=5))

    seen = sorted((r.kind, r.reference, r.amount.amount_minor, r.state) for r in records)
    assert seen == [
        ("payment", "fund_r1", 30_000, "succeeded"),
        ("payout", "pout_1", 4_000, "paid"),
        ("payout", "pout_2", 3_000, "failed"),
        ("refund", "refund:fund_r1", 10_000, "succeeded"),
    ]
    assert {r.id for r in records if r.kind == "payout"} == {paid.id, failed.id}
    assert all(since <= r.created_at for r in records)


async def test_an_empty_window_lists_nothing(provider, fake_stripe):
    fake_stripe.seed_payment(reference="fund_now", amount=100)
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    assert await provider.list_records(since=long_ago, until=long_ago + timedelta(days=1)) == []
