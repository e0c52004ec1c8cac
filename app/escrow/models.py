"""The money ledger: accounts, journal entries and their postings (decision 0029).

A journal entry is one money move; its postings are signed amounts in minor units, positive
into an account, negative out of it, and they sum to zero per currency. The database holds
these rules itself (migration 0017): the zero sum is a deferred constraint trigger checked at
commit, an escrow account's maintained balance has a CHECK that it is never below zero, and
entries and postings are append-only."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CHAR, BigInteger, CheckConstraint, ForeignKey, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class AccountKind(StrEnum):
    client_funding = "client_funding"  # owner: the client (a user)
    escrow = "escrow"  # owner: the contract; never below zero
    contractor_payable = "contractor_payable"  # owner: the contractor (a user)
    platform_fees = "platform_fees"  # no owner
    provider_clearing = "provider_clearing"  # no owner
    refunds = "refunds"  # owner: the client (a user)


# Who owns an account of each kind: a user, a contract, or nobody (the platform's own).
USER_OWNED = frozenset({AccountKind.client_funding, AccountKind.contractor_payable, AccountKind.refunds})
CONTRACT_OWNED = frozenset({AccountKind.escrow})


class EntryKind(StrEnum):
    funding = "funding"
    release = "release"
    refund = "refund"
    settlement = "settlement"
    payout = "payout"


class Account(Base):
    """One row per (kind, owner, currency), made on first use by `ledger.account`."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (
        CheckConstraint("kind <> 'escrow' OR balance_minor >= 0", name="escrow_not_negative"),
        CheckConstraint(
            "(kind = 'escrow') = (owner_contract_id IS NOT NULL)"
            " AND (kind IN ('client_funding', 'contractor_payable', 'refunds')) = (owner_user_id IS NOT NULL)",
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
