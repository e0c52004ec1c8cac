"""The worker side of accounts: e-mails that carry a secret link (made from a row id when sending),
and the nightly purge of failed sign-ins past their retention."""

from __future__ import annotations

import logging
from typing import Any

from app.accounts.audit import trim_failed_sign_ins
from app.accounts.emails import LINK_EMAILS
from app.accounts.models import OneTimeToken, TokenPurpose, User
from app.accounts.tokens import is_usable, make_verification_token, token_of
from app.mail.services import build_message, deliver
from app.web.urls import path_for
from app.worker.registry import task

log = logging.getLogger("pactline.accounts")

PURPOSE_OF = {
    "password_reset": TokenPurpose.password_reset,
    "admin_invite": TokenPurpose.password_reset,
    "email_change": TokenPurpose.email_change,
    "lead_welcome": TokenPurpose.password_reset,
}


@task(retries=6, retry_delay=5.0, max_delay=1800.0, timeout=60)
async def send_account_link(ctx: dict, *, token_id: int, kind: str, context: dict[str, Any] | None = None) -> str:
    """Send the link of one-time token `token_id`, unless it was used, replaced or has expired
    meanwhile (then nothing is sent: the person asked again, or the link could not work)."""
    settings = ctx["settings"]
    subject, template, route = LINK_EMAILS[kind]
    async with ctx["sessionmaker"]() as session:
        row = await session.get(OneTimeToken, token_id)
        user = await session.get(User, row.user_id) if row is not None else None
    if row is None or user is None or row.purpose != PURPOSE_OF[kind] or not is_usable(row):
        return "skipped: the link is no longer usable"
    token = token_of(settings.secret_key, row)
    if token is None:
        log.warning("one-time token %s predates derived links; not sent", token_id)
        return "skipped: no nonce"
    to = row.data["email"] if row.purpose == TokenPurpose.email_change else user.email
    message = build_message(
        settings,
        to=to,
        subject=subject,
        template=template,
        context={**(context or {}), "name": user.name, "link": settings.app_base_url + path_for(route, token=token)},
    )
    await deliver(settings, message)
    return str(message["Message-ID"])


@task(retries=6, retry_delay=5.0, max_delay=1800.0, timeout=60)
async def send_verification_email(ctx: dict, *, user_id: int) -> str:
    """A link confirming the user's address as it is now (a changed address gets its own link)."""
    settings = ctx["settings"]
    async with ctx["sessionmaker"]() as session:
        user = await session.get(User, user_id)
    if user is None or user.email_verified_at is not None or not user.is_active:
        return "skipped: nothing to confirm"
    token = make_verification_token(settings.secret_key, user.id, user.email)
    message = build_message(
        settings,
        to=user.email,
        subject="Confirm your e-mail address",
        template="verify_email",
        context={"name": user.name, "link": settings.app_base_url + path_for("accounts:verify-email", token=token)},
    )
    await deliver(settings, message)
    return str(message["Message-ID"])


@task(retries=3, timeout=300)
async def purge_failed_sign_ins(ctx: dict) -> int:
    """Failures also trim the table as they are recorded; this covers quiet periods."""
    deleted = 0
    while True:
        async with ctx["sessionmaker"]() as session, session.begin():
            batch = await trim_failed_sign_ins(session)
        deleted += batch
        if not batch:
            return deleted
