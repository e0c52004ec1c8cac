"""Tables: webhook events received from a payment provider (each id once); the sandbox provider's
own records (payments, refunds, bank accounts, payouts, events) — what a real provider keeps on
its side, kept here so the sandbox can run inside the app; and the daily reconciliation's runs."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CHAR, BigInteger, Date, ForeignKey, String, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class WebhookEvent(Base):
    """A provider's webhook event, recorded in its own short transaction before it is handled.
    `processed_at` is set when handling finished; an event seen again before that is handled
    again (handling is idempotent), after it is answered as a duplicate."""

    __tablename__ = "payment_webhook_events"
    __table_args__ = (UniqueConstraint("provider", "event_id", name="uq_payment_webhook_events_provider_event"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(server_default=func.now(), default=utcnow)
    processed_at: Mapped[datetime | None]


class SandboxPaymentStatus(StrEnum):
    requires_payment_method = "requires_payment_method"
    requires_action = "requires_action"
    succeeded = "succeeded"
    failed = "failed"


class SandboxPayment(Base):
    """The sandbox provider's payment (Stripe's PaymentIntent): the hosted checkout pays it."""

    __tablename__ = "sandbox_payments"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    reference: Mapped[str] = mapped_column(String(255), index=True)  # our funding's public id
    payer_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(CHAR(3))
    description: Mapped[str] = mapped_column(Text, default="")
    return_url: Mapped[str] = mapped_column(Text)
    status: Mapped[SandboxPaymentStatus] = mapped_column(
        String(30), default=SandboxPaymentStatus.requires_payment_method
    )
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    last_error: Mapped[str] = mapped_column(Text, default="", server_default="")
    card_last4: Mapped[str] = mapped_column(String(4), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), default=utcnow)


class SandboxRefund(Base):
    __tablename__ = "sandbox_refunds"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("sandbox_payments.id", ondelete="CASCADE"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), default=utcnow)


class SandboxPayoutAccount(Base):
    """The sandbox's stand-in for a bank account (Stripe: a connected account): filled in on the
    sandbox's own page. A test IBAN decides whether payouts to it arrive or fail."""

    __tablename__ = "sandbox_payout_accounts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(Text, default="", server_default="")
    holder_name: Mapped[str] = mapped_column(Text, default="", server_default="")
    iban_last4: Mapped[str] = mapped_column(String(4), default="", server_default="")
    fails_payouts: Mapped[bool] = mapped_column(default=False, server_default="false")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), default=utcnow)


class SandboxPayoutStatus(StrEnum):
    pending = "pending"
    paid = "paid"
    failed = "failed"


class SandboxPayout(Base):
    __tablename__ = "sandbox_payouts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("sandbox_payout_accounts.id", ondelete="CASCADE"), index=True)
    reference: Mapped[str] = mapped_column(String(255), index=True)  # our payout's public id
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(CHAR(3))
    status: Mapped[SandboxPayoutStatus] = mapped_column(String(20), default=SandboxPayoutStatus.pending)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    failure_message: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), default=utcnow)


class SandboxEvent(Base):
    """An event the sandbox sends to the app's webhook endpoint (by the worker, signed, retried).
    `object_id` is the payment, payout or payout account the event is about."""

    __tablename__ = "sandbox_events"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    object_id: Mapped[str] = mapped_column(String(40), index=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), default=utcnow)
    delivered_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")


class ReconciliationStatus(StrEnum):
    running = "running"
    clean = "clean"  # the ledger and the provider agree
    mismatched = "mismatched"  # rows differ: see its mismatches; the admins were alerted
    failed = "failed"  # the run itself could not finish (the provider did not answer); retried


class ReconciliationRun(Base):
    """One comparison of the ledger with the provider's records for one day (UTC)."""

    __tablename__ = "reconciliation_runs"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(20))
    day: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[ReconciliationStatus] = mapped_column(String(20), default=ReconciliationStatus.running)
    checked: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    error: Mapped[str] = mapped_column(Text, default="", server_default="")
    started_at: Mapped[datetime] = mapped_column(server_default=func.now(), default=utcnow)
    finished_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class ReconciliationMismatch(Base):
    """One row that differs: what our books say and what the provider says, side by side."""

    __tablename__ = "reconciliation_mismatches"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("reconciliation_runs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # payment, refund, payout, balance
    reference: Mapped[str] = mapped_column(String(255), default="", server_default="")
    provider_object_id: Mapped[str] = mapped_column(String(255), default="", server_default="")
    ledger: Mapped[str] = mapped_column(Text, default="", server_default="")  # what our books say
    provider_says: Mapped[str] = mapped_column(Text, default="", server_default="")
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
