"""Tables: contractor profiles, portfolio items, KYC checks and webhook events."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, TimestampMixin, utcnow
from app.money import Money


class Availability(StrEnum):
    available = "available"
    limited = "limited"
    unavailable = "unavailable"


AVAILABILITY_LABELS = {
    Availability.available: "Available for new work",
    Availability.limited: "Limited availability",
    Availability.unavailable: "Not taking new work",
}


class KycStatus(StrEnum):
    unverified = "unverified"
    pending = "pending"
    verified = "verified"
    rejected = "rejected"


class KycMethod(StrEnum):
    documents = "documents"  # ID document + selfie reviewed by an admin
    provider = "provider"  # hosted verification (Veriff/Onfido style), decided by signed webhook


class ContractorProfile(TimestampMixin, Base):
    __tablename__ = "contractor_profiles"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    headline: Mapped[str] = mapped_column(String(120), default="", server_default="")
    bio: Mapped[str] = mapped_column(Text, default="", server_default="")
    skills: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list, server_default="{}")
    hourly_rate_minor: Mapped[int | None]
    currency: Mapped[str] = mapped_column(String(3), default="EUR", server_default="EUR")
    availability: Mapped[Availability | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(2))
    kyc_status: Mapped[KycStatus] = mapped_column(
        String(20), default=KycStatus.unverified, server_default=KycStatus.unverified.value
    )
    kyc_reason: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def hourly_rate(self) -> Money | None:
        return None if self.hourly_rate_minor is None else Money(self.hourly_rate_minor, self.currency)

    @property
    def availability_label(self) -> str:
        return AVAILABILITY_LABELS.get(self.availability, "") if self.availability else ""


class PortfolioItem(TimestampMixin, Base):
    __tablename__ = "portfolio_items"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("contractor_profiles.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    url: Mapped[str | None] = mapped_column(String(500))
    image_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_files.id", ondelete="SET NULL"))


class KycCheck(TimestampMixin, Base):
    """One verification attempt. A rejected attempt stays as history; retrying starts a new one."""

    __tablename__ = "kyc_checks"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    method: Mapped[KycMethod] = mapped_column(String(20))
    status: Mapped[KycStatus] = mapped_column(String(20), default=KycStatus.pending, server_default="pending")
    id_document_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_files.id", ondelete="SET NULL"))
    selfie_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_files.id", ondelete="SET NULL"))
    provider_session_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    reason: Mapped[str | None] = mapped_column(String(500))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]


class KycWebhookEvent(TimestampMixin, Base):
    """Every accepted provider event id, once: a replayed delivery finds its id here and changes nothing."""

    __tablename__ = "kyc_webhook_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(100), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
