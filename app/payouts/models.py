"""Tables: a contractor's payout method (the provider's account their money goes to) and each
payout. The money itself moves in the ledger (decision 0037): requesting a payout moves it from
the contractor's payable account to `payouts_in_transit`; paid moves it out to the provider;
failed moves it back to the balance."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CHAR, BigInteger, CheckConstraint, ForeignKey, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class PayoutStatus(StrEnum):
    requested = "requested"  # taken from the balance; not yet accepted by the provider
    sent = "sent"  # the provider accepted it; on its way to the bank
    paid = "paid"  # arrived
    failed = "failed"  # did not arrive; returned to the balance


class PayoutMethod(Base):
    """The provider's account a contractor is paid to (a sandbox bank account, or a Stripe connected
    account). `ready` and `label` are what the provider last said; the provider is the truth."""

    __tablename__ = "payout_methods"
    __table_args__ = (UniqueConstraint("user_id", "provider", name="uq_payout_methods_user_provider"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    provider: Mapped[str] = mapped_column(String(20))
    provider_account_id: Mapped[str] = mapped_column(String(255), unique=True)
    label: Mapped[str] = mapped_column(Text, default="", server_default="")
    ready: Mapped[bool] = mapped_column(default=False, server_default="false")
    auto_weekly: Mapped[bool] = mapped_column(default=False, server_default="false")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), default=utcnow)


class Payout(Base):
    __tablename__ = "payouts"
    __table_args__ = (CheckConstraint("amount_minor > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    method_id: Mapped[int] = mapped_column(ForeignKey("payout_methods.id", ondelete="RESTRICT"))
    provider: Mapped[str] = mapped_column(String(20))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(CHAR(3))
    status: Mapped[PayoutStatus] = mapped_column(String(20), default=PayoutStatus.requested, index=True)
    automatic: Mapped[bool] = mapped_column(default=False, server_default="false")
    provider_payout_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    failure_message: Mapped[str] = mapped_column(Text, default="", server_default="")
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    requested_at: Mapped[datetime] = mapped_column(server_default=func.now(), default=utcnow)
    sent_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
