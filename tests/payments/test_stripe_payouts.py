"""Payouts through the Stripe adapter, Connect-style, against the fake: an Express account, its
onboarding link, a transfer then a payout on the connected account (each with its own key), the
payout re-read, and a failed payout's transfer reversed."""

from __future__ import annotations

import pytest

from app.money import Money
from app.payments.provider import PayoutState, ProviderError
from app.payments.stripe import StripeProvider, StripeRefused
from tests.support.fake_stripe import FAILS_PAYOUTS


@pytest.fixture
def provider(stripe_app):
    return StripeProvider(stripe_app.state.settings)


async def ready_account(provider, fake, **bank) -> str:
    account_id = await provider.create_payout_account(user_id=42, email="dev@example.test")
    fake.complete_onboarding(account_id, **bank)
    return account_id


async def test_a_new_account_is_express_with_our_user_and_says_what_is_missing(provider, fake_stripe):
    account_id = await provider.create_payout_account(user_id=42, email="dev@example.test")
    again = await provider.create_payout_account(user_id=42, email="dev@example.test")  # a retried request

    assert again == account_id and account_id.startswith("acct_")
    [account] = fake_stripe.all_of("account")
    assert (account["type"], account["email"], account["metadata"]) == (
        "express",
        "dev@example.test",
        {"user_id": "42"},
    )
    found = await provider.retrieve_payout_account(account_id)
    assert not found.ready and found.label == "Stripe account (no bank account yet)"
    assert found.missing == ("Still needed: the kind of business you are, a bank account, your date of birth, "
                             "accepting Stripe's terms.")  # fmt: skip


async def test_the_setup_link_is_stripes_onboarding_with_absolute_return_addresses(provider, fake_stripe):
    account_id = await provider.create_payout_account(user_id=42, email="dev@example.test")

    url = await provider.payout_account_setup_url(account_id, return_url="/earnings")

    assert url.startswith(f"{fake_stripe.url}/onboard/{account_id}/")
    [(_, _, headers)] = [r for r in fake_stripe.requests if r[1] == "/v1/account_links"]
    assert headers["idempotency-key"].startswith(f"account-link:{account_id}:")
    with pytest.raises(StripeRefused, match="No such account"):
        await provider.payout_account_setup_url("acct_1nobody", return_url="/earnings")


async def test_after_onboarding_the_account_is_ready_and_named_by_its_bank(provider, fake_stripe):
    account_id = await ready_account(provider, fake_stripe, account_number="000123451234")
    found = await provider.retrieve_payout_account(account_id)
    assert (found.id, found.ready, found.label, found.missing) == (account_id, True, "Bank account •••• 1234", "")


async def test_a_payout_is_a_transfer_then_a_payout_on_the_connected_account_once_per_key(provider, fake_stripe):
    account_id = await ready_account(provider, fake_stripe)

    first = await provider.create_payout(reference="po_ref_1", account_id=account_id, amount=Money(12_345, "EUR"),
                                         idempotency_key="payout:po_ref_1")  # fmt: skip
    again = await provider.create_payout(reference="po_ref_1", account_id=account_id, amount=Money(12_345, "EUR"),
                                         idempotency_key="payout:po_ref_1")  # fmt: skip

    assert first == again and first.id.startswith(f"{account_id}/po_")
    assert (first.reference, first.account_id, first.amount, first.state) == (
        "po_ref_1", account_id, Money(12_345, "EUR"), PayoutState.pending)  # fmt: skip
    [transfer] = fake_stripe.all_of("transfer")
    [payout] = fake_stripe.all_of("payout")
    assert (transfer["destination"], transfer["amount"], transfer["metadata"]) == (
        account_id, 12_345, {"reference": "po_ref_1"})  # fmt: skip
    assert payout["metadata"] == {"reference": "po_ref_1", "transfer": transfer["id"]}
    assert payout["_account"] == account_id
    keys = [(p, h["idempotency-key"], h.get("stripe-account")) for m, p, h in fake_stripe.requests if m == "POST"]
    assert keys[-4:] == [("/v1/transfers", "payout:po_ref_1:transfer", None),
                         ("/v1/payouts", "payout:po_ref_1:payout", account_id)] * 2  # fmt: skip


async def test_a_worker_that_died_between_transfer_and_payout_makes_only_the_payout_on_its_retry(provider, fake_stripe):
    account_id = await ready_account(provider, fake_stripe)
    fake_stripe.fail_next(1, status=500, path="/v1/payouts")  # the transfer goes, the payout call fails

    with pytest.raises(ProviderError):
        await provider.create_payout(reference="po_ref_2", account_id=account_id, amount=Money(5_000, "EUR"),
                                     idempotency_key="payout:po_ref_2")  # fmt: skip
    assert len(fake_stripe.all_of("transfer")) == 1 and fake_stripe.all_of("payout") == []

    retried = await provider.create_payout(reference="po_ref_2", account_id=account_id, amount=Money(5_000, "EUR"),
                                           idempotency_key="payout:po_ref_2")  # fmt: skip

    assert len(fake_stripe.all_of("transfer")) == 1 and len(fake_stripe.all_of("payout")) == 1
    assert retried.state == PayoutState.pending and fake_stripe.balances[account_id] == 0


async def test_the_payout_is_reread_as_the_bank_settles_it(provider, fake_stripe):
    account_id = await ready_account(provider, fake_stripe)
    made = await provider.create_payout(reference="po_ref_3", account_id=account_id, amount=Money(5_000, "EUR"),
                                        idempotency_key="payout:po_ref_3")  # fmt: skip
    assert (await provider.retrieve_payout(made.id)).state == PayoutState.pending

    fake_stripe.settle_payout(made.id.split("/")[1])

    assert (await provider.retrieve_payout(made.id)).state == PayoutState.paid
    with pytest.raises(StripeRefused):
        await provider.retrieve_payout("po_without_account")


async def test_a_failed_payout_says_why_and_its_transfer_is_reversed_once(provider, fake_stripe):
    account_id = await ready_account(provider, fake_stripe, account_number=FAILS_PAYOUTS)
    made = await provider.create_payout(reference="po_ref_4", account_id=account_id, amount=Money(7_500, "EUR"),
                                        idempotency_key="payout:po_ref_4")  # fmt: skip
    [failed_event] = fake_stripe.settle_payout(made.id.split("/")[1])

    failed = await provider.retrieve_payout(made.id)
    assert failed_event["type"] == "payout.failed" and failed_event["account"] == account_id
    assert failed.state == PayoutState.failed and "No bank account could be located" in failed.failure_message
    assert fake_stripe.balances[account_id] == 7_500  # back on the connected account

    await provider.return_failed_payout(made.id, idempotency_key="payout-return:po_ref_4")
    await provider.return_failed_payout(made.id, idempotency_key="payout-return:po_ref_4")  # a retry

    [transfer] = fake_stripe.all_of("transfer")
    assert (transfer["amount_reversed"], transfer["reversed"]) == (7_500, True)
    assert len(transfer["reversals"]["data"]) == 1 and transfer["reversals"]["data"][0]["metadata"] == {
        "reference": "po_ref_4"}  # fmt: skip
    assert fake_stripe.balances[account_id] == 0


async def test_a_payout_to_an_account_not_set_up_is_refused(provider, fake_stripe):
    account_id = await provider.create_payout_account(user_id=43, email="new@example.test")
    with pytest.raises(StripeRefused, match="destination account needs"):
        await provider.create_payout(reference="po_ref_5", account_id=account_id, amount=Money(5_000, "EUR"),
                                     idempotency_key="payout:po_ref_5")  # fmt: skip
    assert fake_stripe.all_of("transfer") == [] and fake_stripe.all_of("payout") == []
