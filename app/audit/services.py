"""Audit chain verbs a person starts: a check of the whole chain, run by the worker."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.worker.outbox import defer


def start_verification(db: AsyncSession, admin: User) -> None:
    """The worker walks the chain once this transaction commits and reports live to `admin`."""
    defer(db, "verify_audit_chain", admin_id=admin.id)
