"""The Stripe adapter and the fake speaking Stripe's protocol: the secret key, idempotency keys
replayed like Stripe's, its error answers mapped to ours (a retry later, or a refusal)."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from app.money import Money
from app.payments.provider import PaymentState, ProviderError
from app.payments.providers import get_provider
from app.payments.stripe import StripeProvider, StripeRefused, missing_words
from tests.support.fake_stripe import API_KEY, decode_form


@pytest.fixture
def provider(stripe_app):
    return StripeProvider(stripe_app.state.settings)


async def checkout(provider, reference="fund_proto_1", amount=25_000):
    return await provider.create_checkout(reference=reference, amount=Money(amount, "EUR"), description="Design",
                                          payer_user_id=3, return_url="/contracts/9")  # fmt: skip


async def test_get_provider_gives_stripe_for_payments_provider_stripe(stripe_app):
    found = get_provider(stripe_app.state.settings, stripe_app.state.sessionmaker)
    assert isinstance(found, StripeProvider) and found.name == "stripe"


async def test_an_idempotency_key_replay_returns_the_same_object(provider, fake_stripe):
    first = await checkout(provider)
    again = await checkout(provider)

    assert again == first and len(fake_stripe.all_of("checkout.session")) == 1

    # At the HTTP level: the same key and body → the same answer, marked as replayed; the same key
    # with another body → Stripe's idempotency_error.
    body = "mode=payment&amount=1"
    headers = {"Authorization": f"Bearer {API_KEY}", "Idempotency-Key": "checkout:fund_proto_1",
               "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip
    async with httpx.AsyncClient(base_url=fake_stripe.url) as http:
        other = await http.post("/v1/checkout/sessions", content=body, headers=headers)
    assert other.status_code == 400 and other.json()["error"]["type"] == "idempotency_error"


async def test_the_http_answer_is_replayed_with_stripes_header(fake_stripe):
    headers = {"Authorization": f"Bearer {API_KEY}", "Idempotency-Key": "acct-key-1"}
    async with httpx.AsyncClient(base_url=fake_stripe.url) as http:
        first = await http.post("/v1/accounts", data={"type": "express", "metadata[user_id]": "5"}, headers=headers)
        again = await http.post("/v1/accounts", data={"type": "express", "metadata[user_id]": "5"}, headers=headers)
        anonymous = await http.get(f"/v1/accounts/{first.json()['id']}")
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    assert anonymous.status_code == 401 and anonymous.json()["error"]["type"] == "invalid_request_error"
    assert first.json()["metadata"] == {"user_id": "5"}


def test_bracket_keys_decode_like_stripes():
    pairs = [("line_items[0][price_data][currency]", "eur"), ("line_items[0][quantity]", "1"),
             ("metadata[reference]", "fund_1"), ("expand[]", "a"), ("expand[]", "b.c"), ("created[gte]", "5")]  # fmt: skip
    assert decode_form(pairs) == {
        "line_items": [{"price_data": {"currency": "eur"}, "quantity": "1"}],
        "metadata": {"reference": "fund_1"},
        "expand": ["a", "b.c"],
        "created": {"gte": "5"},
    }


@pytest.mark.parametrize("status", [500, 502, 429])
async def test_stripe_down_or_rate_limiting_is_a_provider_error_to_retry(provider, fake_stripe, status):
    made = await checkout(provider)
    fake_stripe.fail_next(1, status=status)

    with pytest.raises(ProviderError) as caught:
        await provider.retrieve(made.payment_id)

    assert not isinstance(caught.value, StripeRefused)
    assert (await provider.retrieve(made.payment_id)).state == PaymentState.pending  # the next try works


async def test_a_call_that_hangs_past_the_timeout_is_a_provider_error(stripe_app, fake_stripe):
    impatient = StripeProvider(stripe_app.state.settings, timeout=0.3)
    fake_stripe.hang_next(1, seconds=1.5)
    with pytest.raises(ProviderError, match="did not answer"):
        await impatient.create_payout_account(user_id=1, email="slow@example.test")
    assert fake_stripe.all_of("account") == []  # the fake did nothing for it


async def test_a_wrong_secret_key_is_a_provider_error_that_says_so(stripe_app, fake_stripe):
    wrong = StripeProvider(dataclasses.replace(stripe_app.state.settings, stripe_secret_key="sk_test_wrong"))
    with pytest.raises(ProviderError, match="STRIPE_SECRET_KEY"):
        await checkout(wrong)
    assert fake_stripe.all_of("checkout.session") == []


async def test_an_unknown_payment_is_refused_and_a_payment_intent_finds_its_session(provider, fake_stripe):
    with pytest.raises(StripeRefused, match="No such checkout.session"):
        await provider.retrieve("cs_test_nobody")
    with pytest.raises(StripeRefused):
        await provider.retrieve("sbpay_not_stripe")
    made = await checkout(provider)
    fake_stripe.pay(made.payment_id)
    [intent] = fake_stripe.all_of("payment_intent")

    found = await provider.retrieve(intent["id"])

    assert (found.id, found.reference, found.amount, found.state) == (
        made.payment_id, "fund_proto_1", Money(25_000, "EUR"), PaymentState.succeeded)  # fmt: skip


async def test_a_payment_intent_no_checkout_of_ours_made_funds_nothing(provider, fake_stripe):
    other = fake_stripe.seed_payment(reference="", amount=999)
    found = await provider.retrieve(other["id"])
    assert (found.id, found.reference, found.state) == (other["id"], "", PaymentState.succeeded)


def test_requirements_become_plain_words():
    assert missing_words([]) == ""
    assert missing_words(["external_account", "individual.verification.document", "company.tax_id_provided"]) == (
        "Still needed: a bank account, an identity document, other details Stripe asks for.")  # fmt: skip


async def test_the_fakes_hosted_page_takes_a_card_and_sends_the_browser_back(provider, fake_stripe):
    made = await checkout(provider)
    async with httpx.AsyncClient() as browser:
        page = await browser.get(made.url)
        paid = await browser.post(made.url, data={"card_number": "4242 4242 4242 4242"})

    assert page.status_code == 200 and "Pay 250.00 EUR" in page.text and "Card number" in page.text
    assert paid.status_code == 303 and paid.headers["location"] == "http://127.0.0.1:8000/contracts/9"
    assert [e["type"] for e in fake_stripe.events] == ["payment_intent.succeeded", "checkout.session.completed"]
    assert (await provider.retrieve(made.payment_id)).state == PaymentState.succeeded


async def test_the_fake_can_send_its_signed_events_to_a_url(fake_stripe):
    """For a server of the app listening somewhere (the live server): the same signed POST."""
    from app.platform.signatures import verify
    from tests.support.fake_stripe import WEBHOOK_SECRET
    from tests.support.threaded import ThreadedServer

    received: list[tuple[str, bytes, str]] = []

    async def endpoint(scope, receive, send):
        body = (await receive())["body"]
        received.append((scope["path"], body, dict(scope["headers"])[b"stripe-signature"].decode()))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    server = ThreadedServer(endpoint, "stripe-webhook-catcher")
    fake_stripe.webhook_url = server.start() + "/webhooks/stripe"
    try:
        event = {"id": "evt_url_1", "type": "customer.created", "data": {"object": {"id": "cus_1"}}}
        answer = await fake_stripe.deliver(event)
    finally:
        server.stop()

    assert answer.status_code == 200
    [(path, body, signature)] = received
    assert path == "/webhooks/stripe" and b'"evt_url_1"' in body
    verify(WEBHOOK_SECRET, body, signature)  # raises if it does not sign the body


def test_the_adapter_has_every_method_of_the_provider_interface_with_its_signature():
    import inspect

    from app.payments.provider import PaymentProvider

    wanted = {n: f for n, f in vars(PaymentProvider).items() if inspect.iscoroutinefunction(f)}
    assert len(wanted) == 10
    for name, method in wanted.items():
        mine = getattr(StripeProvider, name)
        assert inspect.iscoroutinefunction(mine), name
        assert list(inspect.signature(mine).parameters) == list(inspect.signature(method).parameters), name
