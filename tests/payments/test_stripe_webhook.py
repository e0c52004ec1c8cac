"""/webhooks/stripe: Stripe's signature (with its timestamp tolerance) before anything is
written, events de-duplicated by id, every payment event re-read from Stripe so that a repeat,
an old event arriving late or a provider error in between never moves money twice."""

from __future__ import annotations

import json
import time

from app.money import Money
from app.payments import services
from app.payments.provider import PayoutAccount, PayoutState, ProviderPayout
from app.payments.stripe import StripeProvider
from tests.payments.stripe_support import entries_of, fund_on_stripe, state_of, webhook_rows
from tests.support.fake_stripe import DECLINED, REQUIRES_ACTION

URL = "/webhooks/stripe"


async def test_the_same_event_twice_moves_the_money_once(stripe_app, fake_stripe, client, contractor, db):
    checkout = await fund_on_stripe(client, contractor, db)
    succeeded, completed = fake_stripe.pay(checkout.session_id)

    first = await fake_stripe.deliver(completed)
    again = await fake_stripe.deliver(completed)

    assert first.json() == {"status": "processed"} and again.json() == {"status": "duplicate"}
    assert await state_of(db, checkout) == ("paid", "funded", "")
    assert await entries_of(db, checkout.contract_id) == 1
    # Its sibling about the same payment is a new event: re-read, applied, and it changes nothing.
    assert (await fake_stripe.deliver(succeeded)).json() == {"status": "processed"}
    assert await entries_of(db, checkout.contract_id) == 1
    assert len(await webhook_rows(db)) == 2


async def test_a_failure_that_arrives_after_the_success_changes_nothing(
    stripe_app, fake_stripe, client, contractor, db
):
    """The client's first card was declined, the second paid; Stripe delivers the old failure last."""
    checkout = await fund_on_stripe(client, contractor, db)
    [declined] = fake_stripe.pay(checkout.session_id, DECLINED)
    paid = fake_stripe.pay(checkout.session_id)

    assert await fake_stripe.deliver_all([*paid, declined]) == [200, 200, 200]

    assert await state_of(db, checkout) == ("paid", "funded", "")
    assert await entries_of(db, checkout.contract_id) == 1
    assert declined["data"]["object"]["status"] == "requires_payment_method"  # what the late event's body said


async def test_the_session_completing_before_its_payment_event_funds_once(
    stripe_app, fake_stripe, client, contractor, db
):
    checkout = await fund_on_stripe(client, contractor, db)
    [asked] = fake_stripe.pay(checkout.session_id, REQUIRES_ACTION)
    succeeded, completed = fake_stripe.confirm(checkout.session_id)

    # Newest first, the requires_action event last of all: each re-read says "paid".
    assert await fake_stripe.deliver_all([completed, succeeded, asked]) == [200, 200, 200]

    assert await state_of(db, checkout) == ("paid", "funded", "")
    assert await entries_of(db, checkout.contract_id) == 1


async def test_an_expired_checkout_fails_the_funding(stripe_app, fake_stripe, client, contractor, db):
    checkout = await fund_on_stripe(client, contractor, db)
    [expired] = fake_stripe.expire(checkout.session_id)

    assert (await fake_stripe.deliver(expired)).status_code == 200

    status, milestone, message = await state_of(db, checkout)
    assert (status, milestone) == ("failed", "pending") and "expired" in message


async def test_a_bad_signature_is_400_and_writes_nothing(stripe_app, fake_stripe, client, contractor, db, anonymous):
    checkout = await fund_on_stripe(client, contractor, db)
    _, completed = fake_stripe.pay(checkout.session_id)
    body, headers = fake_stripe.webhook(completed)

    wrong_secret = await fake_stripe.deliver(completed, secret="whsec_somebody_else")
    tampered = await anonymous.post(URL, content=body.replace(b'"paid"', b'"unpaid"'), headers=headers)
    unsigned = await anonymous.post(URL, content=body, headers={"Content-Type": "application/json"})

    assert [wrong_secret.status_code, tampered.status_code, unsigned.status_code] == [400, 400, 400]
    assert "invalid signature" in wrong_secret.json()["error"]
    assert await webhook_rows(db) == []
    assert await state_of(db, checkout) == ("open", "pending", "")


async def test_a_stale_timestamp_is_400_and_writes_nothing(stripe_app, fake_stripe, client, contractor, db):
    checkout = await fund_on_stripe(client, contractor, db)
    _, completed = fake_stripe.pay(checkout.session_id)

    replayed = await fake_stripe.deliver(completed, timestamp=int(time.time()) - 301)  # Stripe's tolerance is 300 s

    assert replayed.status_code == 400 and "tolerance" in replayed.json()["error"]
    assert await webhook_rows(db) == []
    assert await state_of(db, checkout) == ("open", "pending", "")


async def test_stripe_failing_during_the_reread_is_503_and_the_retry_processes_it(
    stripe_app, fake_stripe, client, contractor, db
):
    checkout = await fund_on_stripe(client, contractor, db)
    _, completed = fake_stripe.pay(checkout.session_id)
    fake_stripe.fail_next(1, status=500)

    failed = await fake_stripe.deliver(completed)

    assert failed.status_code == 503
    [row] = await webhook_rows(db)
    assert row.processed_at is None  # kept, unprocessed: Stripe's retry handles it
    assert await state_of(db, checkout) == ("open", "pending", "")

    retried = await fake_stripe.deliver(completed)

    assert retried.json() == {"status": "processed"}
    assert await state_of(db, checkout) == ("paid", "funded", "")
    [row] = await webhook_rows(db)
    assert row.processed_at is not None and await entries_of(db, checkout.contract_id) == 1


async def test_an_event_of_a_type_we_do_not_handle_is_recorded_only(stripe_app, fake_stripe, db, anonymous):
    event = {"id": "evt_other_1", "object": "event", "type": "customer.created", "created": int(time.time()),
             "data": {"object": {"id": "cus_1", "object": "customer"}}}  # fmt: skip
    answer = await fake_stripe.deliver(event)
    assert answer.json() == {"status": "processed"}
    [row] = await webhook_rows(db)
    assert (row.provider, row.type) == ("stripe", "customer.created") and fake_stripe.requests == []


async def test_connected_account_events_keep_their_account_and_reread_the_payout(stripe_app, fake_stripe):
    """payout.* and account.updated come from a connected account: the event's `account` says
    whose, and what is re-read is the payout or the account itself (applied by payouts)."""
    provider = StripeProvider(stripe_app.state.settings)
    account_id = await provider.create_payout_account(user_id=7, email="dev@example.test")
    [updated] = fake_stripe.complete_onboarding(account_id)
    made = await provider.create_payout(reference="pay_ref_1", account_id=account_id, amount=Money(5_000, "EUR"),
                                        idempotency_key="payout:pay_ref_1")  # fmt: skip
    [paid] = fake_stripe.settle_payout(made.id.split("/")[1])

    account_event = services.parse_event(fake_stripe.webhook(updated)[0])
    payout_event = services.parse_event(fake_stripe.webhook(paid)[0])

    assert (services.kind_of(account_event), account_event.account) == ("payout_account", account_id)
    assert (services.kind_of(payout_event), payout_event.account) == ("payout", account_id)
    account = await services.fetch_object(provider, account_event)
    payout = await services.fetch_object(provider, payout_event)
    assert isinstance(account, PayoutAccount) and account.ready
    assert isinstance(payout, ProviderPayout)
    assert (payout.id, payout.state, payout.reference) == (made.id, PayoutState.paid, "pay_ref_1")


async def test_an_account_field_that_is_not_a_short_string_is_400(stripe_app, fake_stripe, db):
    event = {"id": "evt_bad_account", "type": "payout.paid", "account": {"id": "acct_1"},
             "data": {"object": {"id": "po_1"}}}  # fmt: skip
    answer = await fake_stripe.deliver(event)
    assert answer.status_code == 400 and await webhook_rows(db) == []
    assert json.loads(fake_stripe.webhook(event)[0])["account"] == {"id": "acct_1"}


async def test_a_connected_accounts_own_payment_event_is_recorded_only(stripe_app, fake_stripe, db):
    event = {"id": "evt_connected_pay", "type": "checkout.session.completed", "account": "acct_1someone",
             "created": int(time.time()), "data": {"object": {"id": "cs_test_theirs", "object": "checkout.session"}}}  # fmt: skip
    answer = await fake_stripe.deliver(event)
    assert answer.json() == {"status": "processed"} and fake_stripe.requests == []
    [row] = await webhook_rows(db)
    assert row.processed_at is not None
