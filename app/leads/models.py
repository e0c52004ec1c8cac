"""API keys of client companies, and leads with their journey."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, TimestampMixin


class LeadStatus(StrEnum):
    unconfirmed = "unconfirmed"  # from the public form: waits for its requester's e-mail link
    expired = "expired"  # never confirmed: nothing came of it
    received = "received"
    enriched = "enriched"
    published = "published"
    duplicate = "duplicate"
    failed = "failed"


class ApiKey(TimestampMixin, Base):
    """Shown once at creation; only its SHA-256 is stored. The prefix identifies it in lists."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Lead(TimestampMixin, Base):
    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_dedupe", "email_normalized", "created_at"),
        Index("ix_leads_title_trgm", "title", postgresql_using="gin", postgresql_ops={"title": "gin_trgm_ops"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(10))  # form | api
    status: Mapped[LeadStatus] = mapped_column(String(12), default=LeadStatus.received)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    email_normalized: Mapped[str] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    budget_text: Mapped[str | None] = mapped_column(String(100))
    # Enrichment
    category: Mapped[str | None] = mapped_column(String(40))
    budget_minor: Mapped[int | None]
    currency: Mapped[str | None] = mapped_column(String(3))
    public_description: Mapped[str | None] = mapped_column(Text)
    quality_score: Mapped[int | None]
    # Outcome
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    failure: Mapped[str | None] = mapped_column(Text)
    discarded_at: Mapped[datetime | None]
    processed_at: Mapped[datetime | None]  # when it reached published, duplicate or failed
    journey: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default="[]")
    # Public-form leads reach an account only once their requester follows the e-mailed link.
    # The link's token is derived from (purpose, id, nonce) with the secret key, so the worker can
    # rebuild it from the row id; only its SHA-256 is stored, to find the lead by it.
    confirm_nonce: Mapped[str | None] = mapped_column(String(32))
    confirm_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    confirm_expires_at: Mapped[datetime | None]
    confirmation_sent_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
