"""Receipts and invoices (decision 0040): one row per issued document, numbered gap-free per issuer
and year, with everything printed on it kept as it was when it was issued.

Three kinds, each made in the same transaction as the ledger entry it documents:

- `receipt`: Pactline to the client, for a paid funding (what the client paid into escrow);
- `fee_invoice`: Pactline to the contractor, for the platform fee taken at a release;
- `contractor_invoice`: issued by Pactline on the contractor's behalf to the client, for the
  amount released to them (the contractor is the issuer and has their own sequence).

`invoice_sequences` holds the last number per (issuer, year); a number is taken under that row's
lock in the document's own transaction, so a rollback gives it back and two issuers never wait
for each other."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CHAR, BigInteger, ForeignKey, Integer, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class DocumentKind(StrEnum):
    receipt = "receipt"
    fee_invoice = "fee_invoice"
    contractor_invoice = "contractor_invoice"


KIND_TITLES = {
    DocumentKind.receipt: "Receipt",
    DocumentKind.fee_invoice: "Fee invoice",
    DocumentKind.contractor_invoice: "Invoice",
}


class InvoiceSequence(Base):
    __tablename__ = "invoice_sequences"

    issuer_key: Mapped[str] = mapped_column(String(60), primary_key=True)  # "pactline" | "user:<id>"
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("issuer_key", "year", "sequence", name="uq_invoices_issuer_year_sequence"),
        UniqueConstraint("kind", "entry_id", name="uq_invoices_kind_entry"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[DocumentKind] = mapped_column(String(30))
    issuer_key: Mapped[str] = mapped_column(String(60))
    issuer_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(40))  # as printed, e.g. "PL-2026-000042"
    recipient_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="RESTRICT"), index=True)
    milestone_id: Mapped[int | None] = mapped_column(ForeignKey("contract_milestones.id", ondelete="RESTRICT"))
    funding_id: Mapped[int | None] = mapped_column(ForeignKey("escrow_fundings.id", ondelete="RESTRICT"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id", ondelete="RESTRICT"))
    currency: Mapped[str] = mapped_column(CHAR(3))
    total_minor: Mapped[int] = mapped_column(BigInteger)
    # What is printed, frozen at issue: [{"description": …, "amount_minor": …}], and the issuer's
    # and recipient's names, addresses, VAT IDs and company details as they were then.
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    issuer: Mapped[dict[str, Any]] = mapped_column(JSONB)
    recipient: Mapped[dict[str, Any]] = mapped_column(JSONB)
    issued_at: Mapped[datetime] = mapped_column(server_default=func.now(), default=utcnow)
    # The stored PDF, rendered once (first download or the worker) and served as is afterwards.
    storage_key: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str | None] = mapped_column(String(64))
    size_bytes: Mapped[int | None]

    @property
    def title(self) -> str:
        """What a person calls it: "Receipt", "Invoice", "Fee invoice"."""
        return KIND_TITLES[DocumentKind(self.kind)]

    @property
    def path(self) -> str:
        """Where its PDF is downloaded (the parties only; anyone else gets 404)."""
        return f"/invoices/{self.public_id}"
