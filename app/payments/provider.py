"""The payment provider interface. Escrow talks to a provider only through this, outside any
database transaction (DESIGN §6: no lock held across a network call); what a provider says
about a payment is always re-read with `retrieve`, never taken from a webhook's body."""

from __future__ import annotations

from dataclasses import dataclass
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


class ProviderError(RuntimeError):
    """The provider did not answer as it should; the caller retries later."""


class PaymentProvider(Protocol):
    name: str

    async def create_checkout(
        self, *, reference: str, amount: Money, description: str, payer_user_id: int, return_url: str
    ) -> Checkout: ...

    async def retrieve(self, payment_id: str) -> Payment: ...

    async def refund(self, payment_id: str, amount: Money, *, idempotency_key: str) -> str:
        """Give `amount` of the payment back; the same key twice refunds once. Returns the refund's id."""
        ...
