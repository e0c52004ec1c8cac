"""What a person was told, and how they want to be told.

- `notifications`: one row per thing a person should know about (or per unread conversation:
  `group_key` folds a run of new messages into one row until it is read). `in_app` false means
  the person turned the bell off for this kind; the row still carries the e-mail.
  `email` is where its e-mail stands: none (not wanted), now (an outbox row sends it), later
  (sent by the timer after the kind's delay unless read first), digest (waiting for the daily
  digest), digested, sent, skipped (nobody to send to any more).
- `notification_preferences`: only the choices a person changed from a kind's defaults.
- `notification_settings`: the daily digest choice.
- `notification_digests`: one per person and local day, so a digest goes out once.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, TimestampMixin


class EmailState(StrEnum):
    none = "none"
    now = "now"
    later = "later"
    digest = "digest"
    digested = "digested"
    sent = "sent"
    skipped = "skipped"


class Notification(TimestampMixin, Base):
    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_recent", "user_id", text("created_at DESC"), text("id DESC")),
        Index("ix_notifications_unread", "user_id", postgresql_where=text("read_at IS NULL AND in_app")),
        # At most one unread row per group (e.g. one per conversation with new messages).
        Index(
            "uq_notifications_open_group",
            "user_id",
            "group_key",
            unique=True,
            postgresql_where=text("read_at IS NULL AND group_key IS NOT NULL"),
        ),
        Index("ix_notifications_email_waiting", "email", postgresql_where=text("email IN ('later', 'digest')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(64))
    # The plain-words line as it was first said (kept if a kind is ever retired).
    title: Mapped[str] = mapped_column(String(500))
    link: Mapped[str] = mapped_column(String(500))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    group_key: Mapped[str | None] = mapped_column(String(120))
    # How many events this row stands for (a grouped row counts its messages).
    count: Mapped[int] = mapped_column(default=1, server_default="1")
    # When it last changed (a grouped row moves up when another message arrives).
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    in_app: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    read_at: Mapped[datetime | None]
    email: Mapped[EmailState] = mapped_column(String(16), default=EmailState.none, server_default="none")
    emailed_at: Mapped[datetime | None]
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("notification_digests.id", ondelete="SET NULL"))


class NotificationPreference(Base):
    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    in_app: Mapped[bool] = mapped_column(Boolean)
    email: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class NotificationSettings(Base):
    __tablename__ = "notification_settings"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    # E-mails of every kind wait for one message a day, at 08:00 in the person's time zone.
    daily_digest: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class NotificationDigest(TimestampMixin, Base):
    __tablename__ = "notification_digests"
    __table_args__ = (UniqueConstraint("user_id", "local_day", name="uq_notification_digests_user_day"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    local_day: Mapped[date] = mapped_column(Date)
    items: Mapped[int] = mapped_column(default=0, server_default="0")
    sent_at: Mapped[datetime | None]
