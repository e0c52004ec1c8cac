"""The payment provider interface. Escrow talks to a provider only through this, outside any
database transaction (DESIGN §6: no lock held across a network call); what a provider says
about a payment is always re-read with `retrieve`, never taken from a webhook's body."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from app.money import Money


class PaymentState(StrEnum):
    pending = "pending"  # not paid yet (no card, or a second step still to do)
    succeeded = "succeeded"
    failed = "failed"  # declined; nothing was charged


@dataclass(frozen=True)
class Checkout:
    payment_id: str  # the provider's id of the payment
    url: str  # where the client's browser goes to pay


@dataclass(frozen=True)
class Payment:
    """A payment as the provider reports it now."""

    id: str
    reference: str  # what we gave at create_checkout: the funding's public id
    amount: Money
    state: PaymentState
    refunded_minor: int = 0
    failure_message: str = ""


class PayoutState(StrEnum):
    pending = "pending"  # accepted by the provider, on its way to the bank
    paid = "paid"  # arrived
    failed = "failed"  # did not arrive; the provider gives the money back to the platform


@dataclass(frozen=True)
class PayoutAccount:
    """Where a contractor's payouts go, as the provider reports it now: a sandbox bank account,
    or a Stripe connected account."""

    id: str
    ready: bool  # can receive payouts now
    label: str  # what to show the contractor: "Bank account •••• 3000"
    missing: str = ""  # when not ready: what is still needed, in plain words


@dataclass(frozen=True)
class ProviderPayout:
    """A payout as the provider reports it now."""

    id: str
    reference: str  # what we gave at create_payout: our payout's public id
    account_id: str
    amount: Money
    state: PayoutState
    failure_message: str = ""


@dataclass(frozen=True)
class ProviderRecord:
    """One money movement in the provider's records, for the daily reconciliation."""

    kind: str  # "payment" (succeeded), "refund", "payout"
    id: str  # the provider's id
    reference: str  # ours: a funding's public id, a refund's idempotency key, a payout's public id
    amount: Money
    state: str  # a PaymentState, "succeeded" for a refund, a PayoutState
    created_at: datetime


class ProviderError(RuntimeError):
    """The provider did not answer as it should; the caller retries later."""


class PayoutRefused(ProviderError):
    """The provider refuses this payout for good (no such account, an account not set up, a key
    used for another payout): asking again will not change the answer."""


class PaymentProvider(Protocol):
    name: str

    async def create_checkout(
        self, *, reference: str, amount: Money, description: str, payer_user_id: int, return_url: str
    ) -> Checkout: ...

    async def retrieve(self, payment_id: str) -> Payment: ...

    async def refund(self, payment_id: str, amount: Money, *, idempotency_key: str) -> str:
        """Give `amount` of the payment back; the same key twice refunds once. Returns the refund's id."""
        ...

    # ---- payouts to contractors

    async def create_payout_account(self, *, user_id: int, email: str) -> str:
        """A new, empty payout destination for a contractor; returns its id."""
        ...

    async def payout_account_setup_url(self, account_id: str, *, return_url: str) -> str:
        """Where the contractor's browser goes to give their bank details (the provider's own page)."""
        ...

    async def retrieve_payout_account(self, account_id: str) -> PayoutAccount: ...

    async def create_payout(
        self, *, reference: str, account_id: str, amount: Money, idempotency_key: str
    ) -> ProviderPayout:
        """Send `amount` to the account. The same key twice sends once and answers with the first
        payout, so a worker that died after this call can safely make it again."""
        ...

    async def retrieve_payout(self, payout_id: str) -> ProviderPayout: ...

    async def return_failed_payout(self, payout_id: str, *, idempotency_key: str) -> None:
        """After a payout failed: bring its money back to the platform's balance where the provider
        does not do so by itself (Stripe: reverse the transfer to the connected account)."""
        ...

    # ---- reconciliation

    async def list_records(self, *, since: datetime, until: datetime) -> list[ProviderRecord]:
        """Every succeeded payment, refund and payout created in [since, until), from the
        provider's list API."""
        ...
