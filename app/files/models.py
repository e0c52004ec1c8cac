"""Table: privately stored files (their bytes live in the storage adapter)."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, TimestampMixin


class FilePurpose(StrEnum):
    portfolio_image = "portfolio_image"
    kyc_id_document = "kyc_id_document"
    kyc_selfie = "kyc_selfie"
    company_document = "company_document"  # an extract from the company register, for verification
    milestone_delivery = "milestone_delivery"  # a file the contractor delivered with a milestone
    message_attachment = "message_attachment"  # a file sent in a conversation
    message_thumbnail = "message_thumbnail"  # the small picture the server made of an image sent in a conversation

    @property
    def is_public(self) -> bool:
        return self == FilePurpose.portfolio_image


class StoredFile(TimestampMixin, Base):
    """An uploaded file. Bytes live in the storage adapter under `storage_key`, never in a public folder."""

    __tablename__ = "stored_files"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[FilePurpose] = mapped_column(String(32))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    original_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
