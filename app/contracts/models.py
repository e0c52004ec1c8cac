"""Contracts, their immutable versions and the signatures that bind to one version's hash."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, TimestampMixin


class ContractStatus(StrEnum):
    draft = "draft"
    sent = "sent"
    active = "active"
    completed = "completed"
    cancelled = "cancelled"
    terminated = "terminated"


class ContractKind(StrEnum):
    milestone = "milestone"
    retainer = "retainer"


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
    draft_terms: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("contract_versions.id", use_alter=True, ondelete="SET NULL")
    )
    activated_at: Mapped[datetime | None]


class ContractVersion(TimestampMixin, Base):
    __tablename__ = "contract_versions"
    __table_args__ = (UniqueConstraint("contract_id", "number", name="uq_contract_versions_contract_number"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    terms: Mapped[dict[str, Any]] = mapped_column(JSONB)
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
