"""Companies, their members and contractors, and e-mailed invitations."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, TimestampMixin


class Verification(StrEnum):
    unverified = "unverified"
    pending = "pending"
    verified = "verified"
    rejected = "rejected"


class MemberRole(StrEnum):
    owner = "owner"
    member = "member"


class InvitationKind(StrEnum):
    member = "member"  # a colleague joins the company
    contractor = "contractor"  # a contractor joins the company's contractor list


class Company(TimestampMixin, Base):
    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    registration_number: Mapped[str] = mapped_column(String(64))
    country: Mapped[str] = mapped_column(String(2))
    vat_id: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(Text)
    verification: Mapped[Verification] = mapped_column(
        String(20), default=Verification.unverified, server_default="unverified"
    )
    verification_note: Mapped[str | None] = mapped_column(String(500))
    registry_note: Mapped[str | None] = mapped_column(String(500))  # what the registry said, for admins
    registration_document_id: Mapped[int | None] = mapped_column(ForeignKey("stored_files.id", ondelete="SET NULL"))
    verified_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))


class CompanyMember(TimestampMixin, Base):
    __tablename__ = "company_members"
    __table_args__ = (
        # One current membership per person and company; people who left keep their history row.
        Index(
            "uq_company_members_current", "company_id", "user_id", unique=True, postgresql_where=text("left_at IS NULL")
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[MemberRole] = mapped_column(String(20))
    left_at: Mapped[datetime | None]


class CompanyContractor(TimestampMixin, Base):
    """A contractor on a company's list (joined through an invitation)."""

    __tablename__ = "company_contractors"
    __table_args__ = (UniqueConstraint("company_id", "user_id", name="uq_company_contractors_company_user"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class Invitation(TimestampMixin, Base):
    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    kind: Mapped[InvitationKind] = mapped_column(String(20))
    email: Mapped[str] = mapped_column(String(320))
    message: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    nonce: Mapped[str | None] = mapped_column(String(64))  # the link is derived from it when sending
    invited_by: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    accepted_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None]

    def status(self, now: datetime) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "pending"
