"""The e-mails accounts send. Each one is a job row in the caller's transaction
(app/worker/outbox.py), so nothing is sent for a change that rolls back. Links that carry a
secret are made by the task from a row id when it sends (ADR 0018): the secret is never in a
job's arguments."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import OneTimeToken, User
from app.worker.outbox import defer

# kind -> (subject, template, route of the link, which takes the token). The reset page also
# serves a new admin's first password.
LINK_EMAILS: dict[str, tuple[str, str, str]] = {
    "password_reset": ("Reset your Pactline password", "password_reset", "accounts:reset-form"),
    "admin_invite": ("You are now a Pactline admin", "admin_invite", "accounts:reset-form"),
    "email_change": ("Confirm your new e-mail address", "email_change", "settings:email-confirm"),
    "lead_welcome": ("Your request is on Pactline — set your password", "lead_welcome", "accounts:reset-form"),
}

# Security notices to the account's owner: template -> subject.
NOTICES: dict[str, str] = {
    "account_suspended": "Your Pactline account was suspended",
    "admin_created": "You are now a Pactline admin",
    "mfa_enabled": "Two-step sign-in is on for your Pactline account",
    "mfa_disabled": "Two-step sign-in was turned off for your Pactline account",
    "email_changed": "Your Pactline e-mail address was changed",
}


def send_verification(db: AsyncSession, user: User) -> None:
    """A link to confirm the user's current address (signed when the task sends it)."""
    defer(db, "send_verification_email", user_id=user.id)


def send_link(db: AsyncSession, row: OneTimeToken, kind: str, **context: Any) -> None:
    """The e-mail with the link of a one-time token row (flushed: it needs its id)."""
    if kind not in LINK_EMAILS:
        raise ValueError(f"unknown link e-mail {kind!r}")
    defer(db, "send_account_link", token_id=row.id, kind=kind, context=context)


def notify(db: AsyncSession, user: User, template: str, *, to: str | None = None, **context: Any) -> None:
    """A notice about a change to the account, to its owner (`to` overrides the address, e.g.
    the old one after an e-mail change)."""
    defer(
        db,
        "send_email",
        to=to or user.email,
        subject=NOTICES[template],
        template=template,
        context={"name": user.name, **context},
    )
