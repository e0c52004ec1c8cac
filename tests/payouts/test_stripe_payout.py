"""A withdrawal through Stripe, Connect-style, against the local fake: the contractor's connected
account is onboarded, Withdraw sends a transfer and a payout on that account, and Stripe's signed
`payout.paid` / `payout.failed` webhook (from the connected account) is re-read and applied —
paid once, or failed with the money back in the balance and the transfer reversed."""

from __future__ import annotations

from sqlalchemy import select

from app.escrow.ledger import verify
from app.escrow.models import AccountKind
from app.money import Money
from app.payments.stripe import StripeProvider
from app.payouts import services
from app.payouts.models import PayoutStatus
from app.worker.models import OutboxJob
from tests.payouts.helpers import balance, earn, entries, payouts, verify_identity, wait_for
from tests.support.fake_stripe import FAILS_PAYOUTS

SIX_HUNDRED = Money(60_000, "EUR")


async def _stripe_contractor(app, db, user, fake, **bank) -> StripeProvider:
    await earn(db, user)
    await verify_identity(db, user)
    provider = StripeProvider(app.state.settings)
    url = await services.start_method_setup(app.state.sessionmaker, provider, user, return_url="/earnings")
    assert url.startswith(f"{fake.url}/onboard/")
    method = await services.method_of(db, user.id, "stripe")
    fake.complete_onboarding(method.provider_account_id, **bank)
    method = await services.set_up_method(app.state.sessionmaker, provider, user)
    assert method is not None and method.ready and method.label.startswith("Bank account ••••")
    return provider


async def _sent(db, user_id):
    [payout] = await payouts(db, user_id)
    return payout if payout.status == PayoutStatus.sent else None


async def test_a_stripe_payout_is_paid_once_from_its_webhook(stripe_app, db, contractor, fake_stripe):
    me = contractor.user
    await _stripe_contractor(stripe_app, db, me, fake_stripe)

    await services.request_payout(db, me, SIX_HUNDRED, provider="stripe", minimum_minor=1000)
    await db.commit()
    payout = await wait_for(lambda: _sent(db, me.id), what="the worker sending the payout to Stripe")
    [transfer] = fake_stripe.all_of("transfer")
    [stripe_payout] = fake_stripe.all_of("payout")
    assert transfer["amount"] == 60_000 and transfer["metadata"]["reference"] == payout.public_id
    assert payout.provider_payout_id == f"{stripe_payout['_account']}/{stripe_payout['id']}"

    [event] = fake_stripe.settle_payout(stripe_payout["id"], paid=True)
    assert [r.status_code for r in [await fake_stripe.deliver(event), await fake_stripe.deliver(event)]] == [200, 200]

    [payout] = await payouts(db, me.id)
    assert payout.status == PayoutStatus.paid
    assert await entries(db, "payout_paid:") == 1
    assert await balance(db, AccountKind.payouts_in_transit, me.id) == 0
    assert await balance(db, AccountKind.contractor_payable, me.id) == 30_000
    assert len(fake_stripe.all_of("payout")) == 1, "one payout at Stripe, never two"
    assert (await verify(db)).ok


async def test_a_failed_stripe_payout_returns_the_money_and_reverses_the_transfer(
    stripe_app, db, contractor, fake_stripe
):
    me = contractor.user
    await _stripe_contractor(stripe_app, db, me, fake_stripe, account_number=FAILS_PAYOUTS)

    await services.request_payout(db, me, SIX_HUNDRED, provider="stripe", minimum_minor=1000)
    await db.commit()
    await wait_for(lambda: _sent(db, me.id), what="the worker sending the payout to Stripe")
    [stripe_payout] = fake_stripe.all_of("payout")
    [event] = fake_stripe.settle_payout(stripe_payout["id"])
    assert (await fake_stripe.deliver(event)).status_code == 200

    [payout] = await payouts(db, me.id)
    assert payout.status == PayoutStatus.failed and "bank account" in payout.failure_message.lower()
    assert await balance(db, AccountKind.contractor_payable, me.id) == 90_000, "all of it back in the balance"
    assert await entries(db, "payout_paid:") == 0

    async def reversed_():
        [transfer] = fake_stripe.all_of("transfer")
        return transfer.get("amount_reversed") == 60_000 or None

    await wait_for(reversed_, what="the transfer to the connected account being reversed")
    jobs = (await db.scalars(select(OutboxJob.function).where(OutboxJob.function == "return_failed_payout"))).all()
    assert list(jobs) == ["return_failed_payout"]
    assert (await verify(db)).ok
