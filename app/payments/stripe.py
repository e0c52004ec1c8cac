"""The Stripe payment provider (PAYMENTS_PROVIDER=stripe), through the official SDK's async
client: Checkout Sessions for funding (the client pays on Stripe's hosted page), refunds, and
Connect Express accounts with a transfer and a payout for each payout to a contractor.

Every POST carries an idempotency key made from our own reference, so a worker that died after
a call and makes it again gets Stripe's first answer instead of a second charge, refund or
payout (decision 0038). Each call happens outside any database transaction (DESIGN §6)."""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime
from typing import Any

import stripe

from app.config import Settings
from app.money import CURRENCIES, Money
from app.payments.provider import (
    Checkout,
    Payment,
    PaymentState,
    PayoutAccount,
    PayoutRefused,
    PayoutState,
    ProviderError,
    ProviderPayout,
    ProviderRecord,
)

TIMEOUT_SECONDS = 20.0
PAGE_SIZE = 100  # Stripe's largest page
EXPIRED = "The checkout expired before it was paid."
CANCELED = "The payment was cancelled."

# requirements.currently_due entries → what the contractor still has to give, in plain words.
_NEEDED = (
    ("external_account", "a bank account"),
    ("tos_acceptance", "accepting Stripe's terms"),
    ("verification.document", "an identity document"),
    ("verification.additional_document", "a proof of address"),
    (".dob.", "your date of birth"),
    (".address.", "your address"),
    (".phone", "your phone number"),
    (".id_number", "your tax or ID number"),
    (".ssn_last_4", "your tax or ID number"),
    (".first_name", "your name"),
    (".last_name", "your name"),
    ("business_profile.", "what your business does"),
    ("business_type", "the kind of business you are"),
)


class StripeRefused(PayoutRefused):
    """Stripe answered with a 4xx that a retry of the same request will not change (an unknown
    id, an amount above what can be refunded, an idempotency key reused for another request).
    For a payout that is a refusal for good (PayoutRefused): the payout fails and its money
    returns to the balance; every caller that catches ProviderError catches it too."""


def _plain(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _seconds(moment: datetime) -> int:
    return int(moment.timestamp())


def _money(amount: Any, currency: Any) -> Money:
    code = str(currency or "").upper()
    if code not in CURRENCIES or not isinstance(amount, int):
        raise ProviderError(f"Stripe answered with an amount we cannot read: {amount!r} {currency!r}")
    return Money(amount, code)


def _reference(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("reference") or "")


def _id(value: Any) -> str | None:
    """An expandable field: the id, whether Stripe sent the id or the expanded object."""
    if isinstance(value, dict):
        return value.get("id")
    return value if isinstance(value, str) and value else None


def missing_words(currently_due: list[str]) -> str:
    """Stripe's requirement paths as one plain sentence ("" when nothing is due)."""
    words: list[str] = []
    for path in currently_due:
        word = next((w for needle, w in _NEEDED if needle in f".{path}"), "other details Stripe asks for")
        if word not in words:
            words.append(word)
    return f"Still needed: {', '.join(words)}." if words else ""


# One SDK client (one connection pool) per secret key, API address and event loop: an httpx
# client's connections belong to the loop that opened them.
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple, stripe.StripeClient]] = (
    weakref.WeakKeyDictionary()
)


class StripeProvider:
    """`PaymentProvider` for PAYMENTS_PROVIDER=stripe (see app/payments/providers.py)."""

    name = "stripe"

    def __init__(self, settings: Settings, *, timeout: float = TIMEOUT_SECONDS) -> None:
        self._settings = settings
        self._timeout = timeout

    # ------------------------------------------------------------ plumbing

    def _client(self) -> stripe.StripeClient:
        settings = self._settings
        key = (settings.stripe_secret_key, settings.stripe_api_base, self._timeout)
        per_loop = _clients.setdefault(asyncio.get_running_loop(), {})
        if key not in per_loop:
            per_loop[key] = stripe.StripeClient(
                settings.stripe_secret_key,
                base_addresses={"api": settings.stripe_api_base},  # every call this adapter makes
                http_client=stripe.HTTPXClient(timeout=self._timeout),
                # Our callers retry (the webhook's sender, the worker's backoff), with the same
                # idempotency keys; retries inside a request would only hold it open longer.
                max_network_retries=0,
            )
        return per_loop[key]

    async def _call(self, request: Awaitable[Any]) -> dict[str, Any]:
        """One SDK call, its answer as plain data; Stripe's errors as ours."""
        try:
            return _plain(await request)
        except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
            raise ProviderError(f"Stripe did not answer as it should: {exc.user_message or exc}") from exc
        except stripe.AuthenticationError as exc:
            raise ProviderError("Stripe refused the secret key (STRIPE_SECRET_KEY)") from exc
        except stripe.StripeError as exc:
            if exc.http_status is not None and exc.http_status >= 500:
                raise ProviderError(f"Stripe did not answer as it should: {exc.user_message or exc}") from exc
            raise StripeRefused(f"Stripe refused the request: {exc.user_message or exc}") from exc

    async def _each(
        self, list_call, params: dict[str, Any], options: dict[str, Any] | None = None
    ) -> AsyncIterator[dict]:
        """Every object of a list endpoint, page after page (`has_more` / `starting_after`)."""
        after: str | None = None
        while True:
            page = await self._call(
                list_call({**params, "limit": PAGE_SIZE, **({"starting_after": after} if after else {})}, options or {})
            )
            data = page.get("data") or []
            for obj in data:
                yield obj
            if not page.get("has_more") or not data:
                return
            after = data[-1]["id"]

    def _absolute(self, url: str) -> str:
        return url if url.startswith(("https://", "http://")) else self._settings.app_base_url + url

    # ------------------------------------------------------------ funding

    async def create_checkout(
        self, *, reference: str, amount: Money, description: str, payer_user_id: int, return_url: str
    ) -> Checkout:
        if amount.amount_minor <= 0:
            raise ProviderError("a checkout needs an amount above zero")
        back = self._absolute(return_url)
        session = await self._call(
            self._client().v1.checkout.sessions.create_async(
                {
                    "mode": "payment",
                    "client_reference_id": reference,
                    "line_items": [
                        {
                            "quantity": 1,
                            "price_data": {
                                "currency": amount.currency.lower(),
                                "unit_amount": amount.amount_minor,
                                "product_data": {"name": description},
                            },
                        }
                    ],
                    "metadata": {"reference": reference, "payer_user_id": str(payer_user_id)},
                    "payment_intent_data": {"metadata": {"reference": reference}, "description": description},
                    "success_url": back,
                    "cancel_url": back,
                },
                {"idempotency_key": f"checkout:{reference}"},
            )
        )
        return Checkout(payment_id=session["id"], url=session["url"])

    async def _session_of(self, payment_id: str) -> dict[str, Any] | None:
        expand = ["payment_intent", "payment_intent.latest_charge"]
        sessions = self._client().v1.checkout.sessions
        if payment_id.startswith("cs_"):
            return await self._call(sessions.retrieve_async(payment_id, {"expand": expand}))
        found = await self._call(
            sessions.list_async({"payment_intent": payment_id, "limit": 1, "expand": [f"data.{e}" for e in expand]})
        )
        return (found.get("data") or [None])[0]

    async def retrieve(self, payment_id: str) -> Payment:
        """A Checkout Session (cs_…), or the PaymentIntent (pi_…) of a payment_intent.* event,
        as the payment escrow knows: its id is always the session's, the one create_checkout gave."""
        if not payment_id.startswith(("cs_", "pi_")):
            raise StripeRefused(f"{payment_id!r} is not a Stripe payment")
        session = await self._session_of(payment_id)
        if session is None:  # a PaymentIntent no checkout of ours made: it funds nothing
            intent = await self._call(
                self._client().v1.payment_intents.retrieve_async(payment_id, {"expand": ["latest_charge"]})
            )
            return self._payment(intent["id"], _reference(intent), intent, intent, status="")
        intent = session.get("payment_intent") if isinstance(session.get("payment_intent"), dict) else None
        reference = session.get("client_reference_id") or _reference(session)
        return self._payment(session["id"], reference, session, intent, status=session.get("status") or "")

    @staticmethod
    def _payment(
        payment_id: str, reference: str, priced: dict[str, Any], intent: dict[str, Any] | None, *, status: str
    ) -> Payment:
        amount = _money(priced.get("amount_total", priced.get("amount")), priced.get("currency"))
        state, message, refunded = PaymentState.pending, "", 0
        if intent is not None:
            charge = intent.get("latest_charge")
            refunded = charge.get("amount_refunded", 0) if isinstance(charge, dict) else 0
            error = intent.get("last_payment_error") or {}
            if intent.get("status") == "succeeded":
                state = PaymentState.succeeded
            elif intent.get("status") == "canceled":
                state, message = PaymentState.failed, CANCELED
            elif intent.get("status") == "requires_payment_method" and error:
                state, message = PaymentState.failed, str(error.get("message") or "The card was declined.")
        if state == PaymentState.pending and status == "expired":
            state, message = PaymentState.failed, EXPIRED
        return Payment(id=payment_id, reference=reference, amount=amount, state=state, refunded_minor=refunded,
                       failure_message=message)  # fmt: skip

    async def refund(self, payment_id: str, amount: Money, *, idempotency_key: str) -> str:
        intent_id = payment_id
        if payment_id.startswith("cs_"):
            session = await self._call(self._client().v1.checkout.sessions.retrieve_async(payment_id))
            intent_id = _id(session.get("payment_intent"))
            if not intent_id:
                raise StripeRefused(f"checkout {payment_id} was never paid, so there is nothing to refund")
        refund = await self._call(
            self._client().v1.refunds.create_async(
                {
                    "payment_intent": intent_id,
                    "amount": amount.amount_minor,
                    "metadata": {"reference": idempotency_key},
                },
                {"idempotency_key": idempotency_key},
            )
        )
        return refund["id"]

    # ------------------------------------------------------------ payouts (Connect Express)

    async def create_payout_account(self, *, user_id: int, email: str) -> str:
        account = await self._call(
            self._client().v1.accounts.create_async(
                {
                    "type": "express",
                    "email": email,
                    "metadata": {"user_id": str(user_id)},
                    "capabilities": {"transfers": {"requested": True}},
                },
                {"idempotency_key": f"account:{user_id}"},
            )
        )
        return account["id"]

    async def payout_account_setup_url(self, account_id: str, *, return_url: str) -> str:
        back = self._absolute(return_url)
        # An account link works once and for minutes only: the key repeats within the minute
        # (a retried request), not for Stripe's whole 24 hours, or it would replay a spent link.
        minute = int(time.time()) // 60
        link = await self._call(
            self._client().v1.account_links.create_async(
                {"account": account_id, "type": "account_onboarding", "return_url": back, "refresh_url": back},
                {"idempotency_key": f"account-link:{account_id}:{minute}"},
            )
        )
        return link["url"]

    async def retrieve_payout_account(self, account_id: str) -> PayoutAccount:
        account = await self._call(self._client().v1.accounts.retrieve_async(account_id))
        banks = (account.get("external_accounts") or {}).get("data") or []
        last4 = next((b.get("last4") for b in banks if b.get("last4")), None)
        label = f"Bank account •••• {last4}" if last4 else "Stripe account (no bank account yet)"
        ready = bool(account.get("payouts_enabled"))
        missing = ""
        if not ready:
            due = list((account.get("requirements") or {}).get("currently_due") or [])
            missing = missing_words(due) or "Stripe is still checking the details you gave."
        return PayoutAccount(id=account["id"], ready=ready, label=label, missing=missing)

    async def create_payout(
        self, *, reference: str, account_id: str, amount: Money, idempotency_key: str
    ) -> ProviderPayout:
        """A transfer from the platform to the connected account, then a payout from that account
        to its bank. Each has its own key, so a second run after a crash between them finds the
        transfer made and makes only the payout."""
        money = {"amount": amount.amount_minor, "currency": amount.currency.lower()}
        transfer = await self._call(
            self._client().v1.transfers.create_async(
                {**money, "destination": account_id, "transfer_group": reference, "metadata": {"reference": reference}},
                {"idempotency_key": f"{idempotency_key}:transfer"},
            )
        )
        payout = await self._call(
            self._client().v1.payouts.create_async(
                {**money, "metadata": {"reference": reference, "transfer": transfer["id"]}},
                {"idempotency_key": f"{idempotency_key}:payout", "stripe_account": account_id},
            )
        )
        return self._payout(account_id, payout)

    @staticmethod
    def _payout(account_id: str, payout: dict[str, Any]) -> ProviderPayout:
        status = payout.get("status")
        state = {"paid": PayoutState.paid, "failed": PayoutState.failed, "canceled": PayoutState.failed}.get(
            status, PayoutState.pending
        )
        message = ""
        if state == PayoutState.failed:
            message = payout.get("failure_message") or "The bank did not accept the payout."
        return ProviderPayout(id=f"{account_id}/{payout['id']}", reference=_reference(payout), account_id=account_id,
                              amount=_money(payout.get("amount"), payout.get("currency")), state=state,
                              failure_message=message)  # fmt: skip

    @staticmethod
    def _split(payout_id: str) -> tuple[str, str]:
        account_id, _, po = payout_id.partition("/")
        if not account_id.startswith("acct_") or not po.startswith("po_"):
            raise StripeRefused(f"{payout_id!r} is not a payout of this provider")
        return account_id, po

    async def retrieve_payout(self, payout_id: str) -> ProviderPayout:
        account_id, po = self._split(payout_id)
        payout = await self._call(self._client().v1.payouts.retrieve_async(po, {}, {"stripe_account": account_id}))
        return self._payout(account_id, payout)

    async def return_failed_payout(self, payout_id: str, *, idempotency_key: str) -> None:
        """The failed payout's money is back on the connected account's Stripe balance; reversing
        the transfer brings it back to the platform's."""
        account_id, po = self._split(payout_id)
        payout = await self._call(self._client().v1.payouts.retrieve_async(po, {}, {"stripe_account": account_id}))
        transfer_id = (payout.get("metadata") or {}).get("transfer")
        if not transfer_id:
            raise StripeRefused(f"payout {payout_id} names no transfer to reverse")
        await self._call(
            self._client().v1.transfers.reversals.create_async(
                transfer_id,
                {"metadata": {"reference": _reference(payout)}},
                {"idempotency_key": idempotency_key},
            )
        )

    # ------------------------------------------------------------ reconciliation

    async def list_records(self, *, since: datetime, until: datetime) -> list[ProviderRecord]:
        client, window = self._client(), {"created": {"gte": _seconds(since), "lt": _seconds(until)}}
        records: list[ProviderRecord] = []

        def at(obj: dict[str, Any]) -> datetime:
            return datetime.fromtimestamp(obj["created"], UTC)

        async for intent in self._each(client.v1.payment_intents.list_async, window):
            if intent.get("status") == "succeeded":
                records.append(ProviderRecord("payment", intent["id"], _reference(intent),
                                              _money(intent.get("amount"), intent.get("currency")),
                                              PaymentState.succeeded, at(intent)))  # fmt: skip
        async for refund in self._each(client.v1.refunds.list_async, window):
            records.append(ProviderRecord("refund", refund["id"], _reference(refund),
                                          _money(refund.get("amount"), refund.get("currency")),
                                          str(refund.get("status") or ""), at(refund)))  # fmt: skip
        transfers = [t async for t in self._each(client.v1.transfers.list_async, window) if _reference(t)]
        payouts: dict[str, dict[str, Any]] = {}  # transfer id → the payout made from it
        for account_id in sorted({t["destination"] for t in transfers if t.get("destination")}):
            options = {"stripe_account": account_id}
            async for payout in self._each(
                client.v1.payouts.list_async, {"created": {"gte": _seconds(since)}}, options
            ):
                transfer_id = (payout.get("metadata") or {}).get("transfer")
                if transfer_id:
                    payouts[transfer_id] = {**payout, "_account": account_id}
        for transfer in transfers:
            payout = payouts.get(transfer["id"])
            if payout is None:  # the transfer went, its payout was not made yet (the worker retries)
                amount = _money(transfer.get("amount"), transfer.get("currency"))
                records.append(ProviderRecord("payout", transfer["id"], _reference(transfer), amount,
                                              PayoutState.pending, at(transfer)))  # fmt: skip
                continue
            found = self._payout(payout["_account"], payout)
            records.append(ProviderRecord("payout", found.id, _reference(transfer), found.amount, found.state,
                                          at(transfer)))  # fmt: skip
        return records
