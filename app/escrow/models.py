"""The money ledger: accounts, journal entries and their postings (decision 0029).

A journal entry is one money move; its postings are signed amounts in minor units, positive
into an account, negative out of it, and they sum to zero per currency. The database holds
these rules itself (migration 0017): the zero sum is a deferred constraint trigger checked at
commit, an escrow account's maintained balance has a CHECK that it is never below zero, and
entries and postings are append-only."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    CHAR,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class AccountKind(StrEnum):
    client_funding = "client_funding"  # owner: the client (a user)
    escrow = "escrow"  # owner: the contract; never below zero
    contractor_payable = "contractor_payable"  # owner: the contractor (a user)
    platform_fees = "platform_fees"  # no owner
    provider_clearing = "provider_clearing"  # no owner
    refunds = "refunds"  # owner: the client (a user); what the provider still has to give back
    payouts_in_transit = "payouts_in_transit"  # owner: the contractor; payouts sent, not yet arrived


# Who owns an account of each kind: a user, a contract, or nobody (the platform's own).
USER_OWNED = frozenset(
    {AccountKind.client_funding, AccountKind.contractor_payable, AccountKind.refunds, AccountKind.payouts_in_transit}
)
# Accounts whose balance is money someone is owed: never below zero (a CHECK in the database).
NEVER_NEGATIVE = frozenset({AccountKind.escrow, AccountKind.contractor_payable, AccountKind.payouts_in_transit})
CONTRACT_OWNED = frozenset({AccountKind.escrow})


class EntryKind(StrEnum):
    funding = "funding"
    release = "release"
    refund = "refund"
    settlement = "settlement"
    payout = "payout"  # requested: payable → in transit
    payout_paid = "payout_paid"  # arrived: in transit → out through the provider
    payout_returned = "payout_returned"  # failed: in transit → back to payable
    refund_paid = "refund_paid"  # the provider gave a refund back: refunds → out through the provider


class Account(Base):
    """One row per (kind, owner, currency), made on first use by `ledger.account`."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (
        CheckConstraint(
            "kind NOT IN ('escrow', 'contractor_payable', 'payouts_in_transit') OR balance_minor >= 0",
            name="owed_not_negative",
        ),
        CheckConstraint(
            "(kind = 'escrow') = (owner_contract_id IS NOT NULL)"
            " AND (kind IN ('client_funding', 'contractor_payable', 'refunds', 'payouts_in_transit'))"
            " = (owner_user_id IS NOT NULL)",
            name="owner_fits_kind",
        ),
        Index(
            "uq_ledger_accounts_kind_owner_currency",
            "kind",
            text("coalesce(owner_user_id, 0)"),
            text("coalesce(owner_contract_id, 0)"),
            "currency",
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    kind: Mapped[AccountKind] = mapped_column(String(30))
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    owner_contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id", ondelete="RESTRICT"))
    currency: Mapped[str] = mapped_column(CHAR(3))
    # Maintained by the trigger on posting insert, never written by the application; equal to
    # the sum of the account's postings (`pactline ledger verify` checks).
    balance_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), default=utcnow)

    @property
    def label(self) -> str:
        owner = (
            f" of contract {self.owner_contract_id}"
            if self.owner_contract_id
            else f" of user {self.owner_user_id}"
            if self.owner_user_id
            else ""
        )
        return f"{self.kind}{owner} ({self.currency})"


class JournalEntry(Base):
    """One money move. `reference` is unique: the same move cannot be posted twice."""

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    kind: Mapped[EntryKind] = mapped_column(String(30))
    reference: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id", ondelete="RESTRICT"), index=True)
    milestone_id: Mapped[int | None] = mapped_column(
        ForeignKey("contract_milestones.id", ondelete="RESTRICT"), index=True
    )
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), default=utcnow)


class Posting(Base):
    __tablename__ = "ledger_postings"
    __table_args__ = (CheckConstraint("amount_minor <> 0", name="amount_not_zero"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id", ondelete="RESTRICT"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id", ondelete="RESTRICT"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(CHAR(3))


class FundingStatus(StrEnum):
    open = "open"  # a checkout is waiting for the client's payment
    paid = "paid"  # the provider confirmed it; its milestones are funded
    failed = "failed"  # declined or abandoned; nothing was charged, the milestones can be funded again
    refunded = "refunded"  # paid, but nothing could be funded any more: given back in full


class Funding(Base):
    """One payment by the client for one or several milestones of a contract (our side of a
    provider checkout). While `open` it blocks amendments to its milestones."""

    __tablename__ = "escrow_fundings"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="RESTRICT"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(CHAR(3))
    status: Mapped[FundingStatus] = mapped_column(String(20), default=FundingStatus.open)
    provider: Mapped[str] = mapped_column(String(20))
    provider_payment_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    checkout_url: Mapped[str | None] = mapped_column(Text)
    failure_message: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), default=utcnow)
    decided_at: Mapped[datetime | None]


class FundingMilestone(Base):
    __tablename__ = "escrow_funding_milestones"

    funding_id: Mapped[int] = mapped_column(ForeignKey("escrow_fundings.id", ondelete="CASCADE"), primary_key=True)
    milestone_id: Mapped[int] = mapped_column(
        ForeignKey("contract_milestones.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    amount_minor: Mapped[int] = mapped_column(BigInteger)


class SubmissionAnswer(StrEnum):
    approved = "approved"
    auto_approved = "auto_approved"
    revision_requested = "revision_requested"


class Submission(Base):
    """The contractor's delivery of a milestone ("What you delivered") and the client's answer."""

    __tablename__ = "milestone_submissions"
    __table_args__ = (UniqueConstraint("milestone_id", "number", name="uq_milestone_submissions_milestone_number"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("contract_milestones.id", ondelete="RESTRICT"), index=True)
    number: Mapped[int]
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), default=utcnow)
    answer: Mapped[SubmissionAnswer | None] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    answered_at: Mapped[datetime | None]


class SubmissionFile(Base):
    __tablename__ = "milestone_submission_files"

    submission_id: Mapped[int] = mapped_column(
        ForeignKey("milestone_submissions.id", ondelete="CASCADE"), primary_key=True
    )
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_files.id", ondelete="RESTRICT"), primary_key=True)


class IdempotencyKey(Base):
    """A money-moving request's key, stored in its own short transaction before the work; the
    first result is kept so that a replay gets it back (Stripe's semantics, 24 hours)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    scope: Mapped[str] = mapped_column(String(100))
    fingerprint: Mapped[str] = mapped_column(CHAR(64))
    status: Mapped[str] = mapped_column(String(20), default="in_flight")  # in_flight | done
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_headers: Mapped[dict[str, str] | None] = mapped_column(JSONB)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), default=utcnow, index=True)
    finished_at: Mapped[datetime | None]
