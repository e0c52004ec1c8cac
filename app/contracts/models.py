"""Contracts, their immutable versions and the signatures that bind to one version's hash."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.contracts.amendments.changes import Change, ChangesColumn
from app.contracts.terms import ContractKind, Terms, TermsColumn
from app.db import Base, TimestampMixin, utcnow


class ContractStatus(StrEnum):
    draft = "draft"
    sent = "sent"
    active = "active"
    completed = "completed"
    cancelled = "cancelled"
    terminated = "terminated"


class ContractOrigin(StrEnum):
    proposal = "proposal"
    invitation = "invitation"
    direct = "direct"


class MilestoneStatus(StrEnum):
    pending = "pending"
    funded = "funded"
    submitted = "submitted"
    revision_requested = "revision_requested"
    approved = "approved"
    released = "released"
    disputed = "disputed"
    refunded = "refunded"
    settled = "settled"  # a dispute decision split the held amount between refund and release
    removed = "removed"  # taken out by a signed amendment before any money moved


class AmendmentStatus(StrEnum):
    proposed = "proposed"
    applied = "applied"
    withdrawn = "withdrawn"
    declined = "declined"


class Contract(TimestampMixin, Base):
    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    contractor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id", ondelete="SET NULL"), unique=True)
    kind: Mapped[ContractKind] = mapped_column(String(20))
    status: Mapped[ContractStatus] = mapped_column(String(20), default=ContractStatus.draft)
    # Edited freely until first sent; every send freezes it into a new version.
    draft_terms: Mapped[Terms] = mapped_column(TermsColumn, default=Terms)
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("contract_versions.id", use_alter=True, ondelete="SET NULL")
    )
    activated_at: Mapped[datetime | None]
    origin: Mapped[ContractOrigin] = mapped_column(String(20), default=ContractOrigin.proposal)
    # The client's company when they drafted it: its templates and its name on the contract.
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", ondelete="SET NULL"))
    # Compare-and-set counter for the shared draft: a save from a stale tab is refused.
    draft_rev: Mapped[int] = mapped_column(default=0)
    # The review assistant's latest findings for draft_rev ({"rev": …, "score": …, "findings": […]}).
    review: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    ended_at: Mapped[datetime | None]
    # Who last changed the working copy since the current version was sent (None: unchanged).
    draft_edited_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    @property
    def title(self) -> str:
        return self.draft_terms.display_title

    def party(self, user_id: int) -> bool:
        return user_id in (self.client_id, self.contractor_id)

    def other_party(self, user_id: int) -> int:
        return self.contractor_id if user_id == self.client_id else self.client_id


class ContractVersion(TimestampMixin, Base):
    __tablename__ = "contract_versions"
    __table_args__ = (UniqueConstraint("contract_id", "number", name="uq_contract_versions_contract_number"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    terms: Mapped[Terms] = mapped_column(TermsColumn)
    terms_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))


class Signature(TimestampMixin, Base):
    __tablename__ = "contract_signatures"
    __table_args__ = (UniqueConstraint("version_id", "user_id", name="uq_contract_signatures_version_user"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("contract_versions.id", ondelete="RESTRICT"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    terms_hash: Mapped[str] = mapped_column(String(64))
    typed_name: Mapped[str] = mapped_column(String(200))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(Text)


class Milestone(TimestampMixin, Base):
    """A milestone of an active contract. Created from the signed terms on activation; changed
    afterwards only by a signed amendment (or, once money moves, a dispute decision)."""

    __tablename__ = "contract_milestones"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    acceptance_criteria: Mapped[str] = mapped_column(Text, default="")
    amount_minor: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    due_date: Mapped[date | None]
    status: Mapped[MilestoneStatus] = mapped_column(String(30), default=MilestoneStatus.pending)
    funded_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    # The end of the review window of the latest submission: auto-approval after it.
    review_ends_at: Mapped[datetime | None] = mapped_column(index=True)
    # Reminders sent to the client for the current submission: 1 = 48 h before, 2 = 24 h before.
    reminders_sent: Mapped[int] = mapped_column(default=0, server_default="0")
    revision_count: Mapped[int] = mapped_column(default=0, server_default="0")
    approved_at: Mapped[datetime | None]
    released_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]  # refunded or settled
    # A retainer's period (decision 0042): it covers [period_start, period_end); the client funds
    # it before it starts and it is released at its end unless disputed. None for milestones.
    period_start: Mapped[date | None]
    period_end: Mapped[date | None] = mapped_column(index=True)
    # Funding reminders sent for this period (1 = a few days before it starts, 2 = on its first day).
    funding_reminders_sent: Mapped[int] = mapped_column(default=0, server_default="0")
    # When both sides were told it is overdue: its start passed and it is still not funded.
    overdue_at: Mapped[datetime | None]


# A milestone in one of these is finished: it counts towards the contract being completed.
FINISHED_MILESTONE_STATES = frozenset({MilestoneStatus.released, MilestoneStatus.refunded, MilestoneStatus.settled})


class Amendment(TimestampMixin, Base):
    """A change to an active contract: its terms are a new version that both parties sign."""

    __tablename__ = "contract_amendments"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("contract_versions.id", ondelete="RESTRICT"), unique=True)
    proposed_by: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    changes: Mapped[list[Change]] = mapped_column(ChangesColumn)
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[AmendmentStatus] = mapped_column(String(20), default=AmendmentStatus.proposed)
    decided_at: Mapped[datetime | None]


class ChangeRequest(TimestampMixin, Base):
    """“Please change this”: a party's note on a sent version, answered by the next version."""

    __tablename__ = "contract_change_requests"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("contract_versions.id", ondelete="SET NULL"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    message: Mapped[str] = mapped_column(Text)
    resolved_by_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("contract_versions.id", ondelete="SET NULL", name="fk_contract_change_requests_resolved_version")
    )


class ContractDocument(TimestampMixin, Base):
    """A stored PDF rendering of one version. `final` renderings carry the signatures and are
    what the public verification page compares uploads against."""

    __tablename__ = "contract_documents"
    __table_args__ = (UniqueConstraint("version_id", "final", name="uq_contract_documents_version_final"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("contract_versions.id", ondelete="CASCADE"))
    final: Mapped[bool]
    terms_hash: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int]
    pages: Mapped[int]


class StoredTemplate(TimestampMixin, Base):
    """A contract template kept in the database: a company's own, or an administrator's edit of
    a platform template (company_id NULL), which then replaces the built-in text."""

    __tablename__ = "contract_templates"
    __table_args__ = (UniqueConstraint("company_id", "key", name="uq_contract_templates_company_key"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    placeholders: Mapped[list[dict[str, str]]] = mapped_column(JSONB)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), default=utcnow, onupdate=utcnow)
