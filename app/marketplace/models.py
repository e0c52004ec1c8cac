"""Jobs, proposals and proposed milestones."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Computed, Date, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, TimestampMixin
from app.money import Money


class BudgetType(StrEnum):
    fixed = "fixed"
    hourly = "hourly"


class Visibility(StrEnum):
    public = "public"
    invite_only = "invite_only"


class JobStatus(StrEnum):
    draft = "draft"
    open = "open"
    closed = "closed"
    filled = "filled"


class ProposalStatus(StrEnum):
    submitted = "submitted"
    shortlisted = "shortlisted"
    accepted = "accepted"
    declined = "declined"
    withdrawn = "withdrawn"


# A contractor has at most one proposal per job in these states (partial unique index).
ACTIVE_PROPOSAL = (ProposalStatus.submitted, ProposalStatus.shortlisted, ProposalStatus.accepted)

# Weighted document: title (A) > skills (B) > description (C). jobs_skills_text() is an
# IMMUTABLE wrapper of array_to_string (which Postgres marks STABLE) so the column can be generated.
SEARCH_EXPRESSION = (
    "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english', jobs_skills_text(skills)), 'B') || "
    "setweight(to_tsvector('english', coalesce(description, '')), 'C')"
)


class Job(TimestampMixin, Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_search", "search", postgresql_using="gin"),
        Index("ix_jobs_skills", "skills", postgresql_using="gin"),
        Index("ix_jobs_status_published", "status", "visibility", "published_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    skills: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default=text("'{}'"))
    budget_type: Mapped[BudgetType] = mapped_column(String(10))
    budget_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    deadline: Mapped[date | None] = mapped_column(Date)
    visibility: Mapped[Visibility] = mapped_column(String(20), default=Visibility.public)
    status: Mapped[JobStatus] = mapped_column(String(10), default=JobStatus.draft)
    published_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    search: Mapped[Any] = mapped_column(TSVECTOR, Computed(SEARCH_EXPRESSION, persisted=True), deferred=True)

    client = relationship("User", lazy="joined")

    @property
    def budget(self) -> Money:
        return Money(self.budget_minor, self.currency)

    @property
    def is_hourly(self) -> bool:
        return self.budget_type == BudgetType.hourly


class JobInvite(TimestampMixin, Base):
    """A contractor invited to a job: they may see and apply to it even when it is invite-only."""

    __tablename__ = "job_invites"
    __table_args__ = (UniqueConstraint("job_id", "user_id", name="uq_job_invites_job_user"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class Proposal(TimestampMixin, Base):
    __tablename__ = "proposals"
    __table_args__ = (
        Index(
            "uq_proposals_one_active",
            "job_id",
            "contractor_id",
            unique=True,
            postgresql_where=text("status IN ('submitted', 'shortlisted', 'accepted')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    contractor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    cover_letter: Mapped[str] = mapped_column(Text)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[ProposalStatus] = mapped_column(String(12), default=ProposalStatus.submitted)
    decline_note: Mapped[str | None] = mapped_column(String(1000))
    decided_at: Mapped[datetime | None]

    job = relationship(Job, lazy="joined")
    contractor = relationship("User", lazy="joined")
    milestones = relationship(
        "ProposedMilestone", lazy="selectin", order_by="ProposedMilestone.position", cascade="all, delete-orphan"
    )

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_PROPOSAL


class ProposedMilestone(Base):
    __tablename__ = "proposed_milestones"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    due_date: Mapped[date | None] = mapped_column(Date)

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)
