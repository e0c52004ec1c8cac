"""Jobs that kept failing after their retries, kept for an admin to read and re-run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, TimestampMixin


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
