"""Jobs waiting to be handed to the queue (the job outbox), and jobs that kept failing after
their retries, kept for an admin to read and re-run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, TimestampMixin


class OutboxJob(TimestampMixin, Base):
    """A background job written in the same transaction as the change that causes it; the
    dispatcher hands it to the queue after commit (DESIGN §6: side effects are rows first)."""

    __tablename__ = "outbox_jobs"
    __table_args__ = (Index("ix_outbox_jobs_pending", "id", postgresql_where="enqueued_at IS NULL"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    # The queue's job key: a row handed over again after a crash (before it was marked) is
    # skipped while the queue still knows the key (app/worker/outbox.py).
    key: Mapped[str] = mapped_column(String(64), unique=True)
    function: Mapped[str] = mapped_column(String(200))
    kwargs: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    enqueued_at: Mapped[datetime | None]
    # Set when the task finished its effect for this row; a second run of the same row skips
    # (app/worker/runner.py, ADR 0022).
    done_at: Mapped[datetime | None]


class FailedJob(TimestampMixin, Base):
    __tablename__ = "failed_jobs"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    job_key: Mapped[str] = mapped_column(String(200))
    function: Mapped[str] = mapped_column(String(200))
    kwargs: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int]
    retried_at: Mapped[datetime | None]
    retried_job_key: Mapped[str | None] = mapped_column(String(200))
