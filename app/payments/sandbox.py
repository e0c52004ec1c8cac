"""The sandbox payment provider: what a remote provider (Stripe) keeps and answers, run inside
the app so the whole payment path — checkout, signed webhook over HTTP, re-read, escrow — runs
end to end without a real provider. Escrow talks to it only through `PaymentProvider`.

It behaves like a remote service on purpose: every call opens its own session from the
sessionmaker and commits it, never joining the caller's transaction, so code written against it
already holds no transaction across a provider call when Stripe takes its place (issue 15)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings, sandbox_webhook_secret
from app.db import utcnow
from app.errors import NotFound
from app.money import Money
from app.payments.models import SandboxEvent, SandboxPayment, SandboxPaymentStatus, SandboxRefund
from app.payments.provider import Checkout, Payment, PaymentState, ProviderError, ProviderRecord
from app.payments.sandbox_records import list_records
from app.web.urls import path_for
from app.worker.outbox import defer

DECLINED = "Your card was declined."


@dataclass(frozen=True)
class TestCard:
    number: str  # as printed, with spaces
    outcome: str  # what it does, in plain words

    __test__ = False  # a card, not a pytest class

    @property
    def digits(self) -> str:
        return self.number.replace(" ", "")


SUCCEEDS = TestCard("4242 4242 4242 4242", "Pays at once.")
IS_DECLINED = TestCard("4000 0000 0000 0002", "Is declined; nothing is charged.")
ASKS_TO_CONFIRM = TestCard("4000 0027 6000 3184", "Asks you to confirm the payment in a second step.")
TEST_CARDS = (SUCCEEDS, IS_DECLINED, ASKS_TO_CONFIRM)


class RefundRefused(ProviderError):
    """The sandbox refuses this refund (more than was paid, a payment that was not paid); retrying
    the same request will not change the answer."""


def webhook_secret(settings: Settings) -> str:
    """The secret the sandbox signs its webhooks with: SANDBOX_WEBHOOK_SECRET, or one derived
    from SECRET_KEY under its own label (so development needs nothing, and the key never signs)."""
    return settings.sandbox_webhook_secret or sandbox_webhook_secret(settings.secret_key)


def _new_id(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(24)  # 32 characters of randomness: nobody guesses one


def record_event(db: AsyncSession, type_: str, object_id: str) -> SandboxEvent:
    """An event for the app's webhook endpoint, with its delivery as an outbox row in the same
    transaction (decision 0022): a rolled-back payment sends nothing, a committed one is sent."""
    event = SandboxEvent(id=_new_id("sbevt_"), type=type_, object_id=object_id)
    db.add(event)
    defer(db, "deliver_sandbox_webhook", event_id=event.id)
    return event


def as_payment(row: SandboxPayment) -> Payment:
    state = {
        SandboxPaymentStatus.succeeded: PaymentState.succeeded,
        SandboxPaymentStatus.failed: PaymentState.failed,
    }.get(SandboxPaymentStatus(row.status), PaymentState.pending)
    return Payment(
        id=row.id,
        reference=row.reference,
        amount=Money(row.amount_minor, row.currency),
        state=state,
        refunded_minor=row.refunded_minor,
        failure_message=row.last_error if state == PaymentState.failed else "",
    )


class SandboxProvider:
    """`PaymentProvider` for PAYMENTS_PROVIDER=sandbox (see app/payments/providers.py)."""

    name = "sandbox"

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def create_checkout(
        self, *, reference: str, amount: Money, description: str, payer_user_id: int, return_url: str
    ) -> Checkout:
        if amount.amount_minor <= 0:
            raise ProviderError("a checkout needs an amount above zero")
        payment_id = _new_id("sbpay_")
        async with self._sessionmaker() as db, db.begin():
            db.add(
                SandboxPayment(
                    id=payment_id,
                    reference=reference,
                    payer_user_id=payer_user_id,
                    amount_minor=amount.amount_minor,
                    currency=amount.currency,
                    description=description,
                    return_url=return_url,
                    status=SandboxPaymentStatus.requires_payment_method,
                )
            )
        return Checkout(payment_id=payment_id, url=path_for("checkout:show", payment_id=payment_id))

    async def retrieve(self, payment_id: str) -> Payment:
        async with self._sessionmaker() as db:
            row = await db.get(SandboxPayment, payment_id)
        if row is None:
            raise ProviderError(f"no sandbox payment {payment_id!r}")
        return as_payment(row)

    async def refund(self, payment_id: str, amount: Money, *, idempotency_key: str) -> str:
        async with self._sessionmaker() as db, db.begin():
            # The payment's row lock first: two refunds with one key wait for each other here,
            # and the second then finds the first one's row below.
            row = await db.scalar(select(SandboxPayment).where(SandboxPayment.id == payment_id).with_for_update())
            if row is None:
                raise ProviderError(f"no sandbox payment {payment_id!r}")
            earlier = await db.scalar(select(SandboxRefund).where(SandboxRefund.idempotency_key == idempotency_key))
            if earlier is not None:
                if earlier.payment_id != payment_id or earlier.amount_minor != amount.amount_minor:
                    raise RefundRefused("this idempotency key was used for another refund")
                return earlier.id  # the same request again: the first refund's answer
            if row.status != SandboxPaymentStatus.succeeded:
                raise RefundRefused("only a paid payment can be refunded")
            if amount.currency != row.currency or amount.amount_minor <= 0:
                raise RefundRefused("a refund is a positive amount in the payment's currency")
            if row.refunded_minor + amount.amount_minor > row.amount_minor:
                raise RefundRefused("a refund cannot be more than what was paid and not refunded yet")
            refund_id = _new_id("sbre_")
            await db.execute(
                insert(SandboxRefund).values(
                    id=refund_id,
                    payment_id=payment_id,
                    amount_minor=amount.amount_minor,
                    idempotency_key=idempotency_key,
                )
            )
            row.refunded_minor += amount.amount_minor
            row.updated_at = utcnow()
            record_event(db, "refund.succeeded", payment_id)
        return refund_id

    async def list_records(self, *, since: datetime, until: datetime) -> list[ProviderRecord]:
        """Succeeded payments, refunds and payouts created in [since, until) (sandbox_records.py)."""
        return await list_records(self._sessionmaker, since=since, until=until)


# ---------------------------------------------------------------- the hosted checkout page's side


async def checkout_for(db: AsyncSession, payment_id: str, payer_id: int) -> SandboxPayment:
    """The payment behind /checkout/<id>, for its payer only (anyone else: NotFound)."""
    row = await db.get(SandboxPayment, payment_id, populate_existing=True)
    if row is None or row.payer_user_id != payer_id:
        raise NotFound(payment_id)
    return row


async def _move(db: AsyncSession, payment_id: str, expected: SandboxPaymentStatus, **values) -> bool:
    """Compare-and-set on the payment's status: only one request moves it from `expected`."""
    result = await db.execute(
        update(SandboxPayment)
        .where(SandboxPayment.id == payment_id, SandboxPayment.status == expected)
        .values(updated_at=utcnow(), **values)
        .returning(SandboxPayment.id)
    )
    return result.scalar() is not None


async def pay(db: AsyncSession, payment: SandboxPayment, card: TestCard) -> SandboxPaymentStatus | None:
    """The payer pays with a test card: the status it moved to, or None when the payment was no
    longer waiting for a card (paid or declined already, a second click). The caller commits."""
    last4 = card.digits[-4:]
    if card == SUCCEEDS:
        target, values = SandboxPaymentStatus.succeeded, {"card_last4": last4, "last_error": ""}
    elif card == IS_DECLINED:
        target, values = SandboxPaymentStatus.failed, {"card_last4": last4, "last_error": DECLINED}
    else:
        target, values = SandboxPaymentStatus.requires_action, {"card_last4": last4}
    if not await _move(db, payment.id, SandboxPaymentStatus.requires_payment_method, status=target, **values):
        return None
    if target == SandboxPaymentStatus.succeeded:
        record_event(db, "payment.succeeded", payment.id)
    elif target == SandboxPaymentStatus.failed:
        record_event(db, "payment.failed", payment.id)
    return target


async def confirm(db: AsyncSession, payment: SandboxPayment) -> bool:
    """The second step of the card that asks for one: True when this request paid it."""
    if not await _move(db, payment.id, SandboxPaymentStatus.requires_action, status=SandboxPaymentStatus.succeeded):
        return False
    record_event(db, "payment.succeeded", payment.id)
    return True
