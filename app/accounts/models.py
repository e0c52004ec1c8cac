"""The User table."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, TimestampMixin


class Role(StrEnum):
    client = "client"
    contractor = "contractor"
    admin = "admin"


class UserStatus(StrEnum):
    active = "active"
    suspended = "suspended"


class User(TimestampMixin, Base):
    __tablename__ = "users"
    __table_args__ = (Index("uq_users_email_lower", text("lower(email)"), unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    email_verified_at: Mapped[datetime | None]
    totp_secret_encrypted: Mapped[str | None] = mapped_column(String(512))
    status: Mapped[UserStatus] = mapped_column(String(20), default=UserStatus.active, server_default="active")
    suspended_reason: Mapped[str | None] = mapped_column(String(500))
    locale: Mapped[str] = mapped_column(String(20), default="en", server_default="en")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    # Bumped on password change or suspension: every session issued before is dead.
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    @property
    def is_active(self) -> bool:
        return self.status == UserStatus.active
