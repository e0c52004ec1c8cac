"""The User table."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import INET, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, TimestampMixin, utcnow


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
    mfa_enabled_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]
    # Bumped on password change or suspension: every session issued before is dead.
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    # The 30-second TOTP step of the last code accepted: a code is good once (see mfa.accept_code).
    totp_last_step: Mapped[int | None]

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    @property
    def is_active(self) -> bool:
        return self.status == UserStatus.active


class OAuthIdentity(TimestampMixin, Base):
    """A Google or LinkedIn account linked to a user."""

    __tablename__ = "oauth_identities"
    __table_args__ = (UniqueConstraint("provider", "subject", name="uq_oauth_identities_provider_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(320))
    # Set when the owner linked it while signed in (or created the account with it from an
    # address the provider verified). A password reset removes the others (ADR 0018).
    confirmed_at: Mapped[datetime | None]


class TokenPurpose(StrEnum):
    password_reset = "password_reset"  # noqa: S105 — a purpose name, not a secret
    email_change = "email_change"


class OneTimeToken(TimestampMixin, Base):
    """A single-use secret sent by e-mail; only its SHA-256 (and the nonce it is derived from) is stored."""

    __tablename__ = "one_time_tokens"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[TokenPurpose] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The token itself is derived from this nonce and SECRET_KEY when the e-mail is sent, so it
    # never travels through the job queue (app/platform/secret_links.py).
    nonce: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class RecoveryCode(TimestampMixin, Base):
    """One of ten single-use MFA recovery codes (hashed)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    used_at: Mapped[datetime | None]


class AccountEvent(TimestampMixin, Base):
    """Security-relevant account history: sign-ins, failures, MFA, role and status changes."""

    __tablename__ = "account_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(64), index=True)
    ip: Mapped[str | None] = mapped_column(INET)
    user_agent: Mapped[str | None] = mapped_column(String(400))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")


class FailedSignIn(TimestampMixin, Base):
    """A wrong password or two-step code. Anyone can cause these, so they stay out of the
    append-only chain and out of `account_events`: the address tried is kept only as a hash,
    and the table is bounded (see `app.accounts.audit.record_failed_sign_in`)."""

    __tablename__ = "failed_sign_ins"
    __table_args__ = (Index("ix_failed_sign_ins_email_hash_id", "email_hash", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 hex of the normalized address
    step: Mapped[str] = mapped_column(String(20))  # password | totp | totp_reused | recovery_code
    ip: Mapped[str | None] = mapped_column(INET)
    user_agent: Mapped[str | None] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), default=utcnow, index=True)
