"""The worker side of notifications: the e-mail of one notification, with its unsubscribe link."""

from __future__ import annotations

import logging

from app.accounts.models import User
from app.db import utcnow
from app.mail.services import build_message, deliver
from app.mail.tasks import outbox_message_id
from app.notifications.kinds import KINDS
from app.notifications.models import EmailState, Notification
from app.notifications.services import channels_for
from app.notifications.unsubscribe import list_unsubscribe_headers, make_token, unsubscribe_path
from app.worker.registry import task

log = logging.getLogger("pactline.notifications")


def email_context(settings, user: User, notification: Notification, kind) -> dict:
    """What a kind's e-mail template reads: the caller's data, the person's name, the title in
    words, the link back (`path`) and the unsubscribe link for this kind."""
    unsubscribe_url = settings.app_base_url + unsubscribe_path(make_token(settings.secret_key, user.id, kind.name))
    return {
        **notification.data,
        "name": user.name,
        "headline": kind.title_for(notification.data, notification.count),
        "path": notification.link,
        "count": notification.count,
        "kind_label": kind.label,
        "unsubscribe_url": unsubscribe_url,
    }


@task(retries=6, retry_delay=5.0, max_delay=1800.0, timeout=60)
async def send_notification_email(ctx: dict, *, notification_id: int) -> str:
    """E-mail one notification unless, by now, the person is suspended or gone, turned e-mail off
    for its kind, or it was e-mailed already. No row lock is held while the mail server talks."""
    settings = ctx["settings"]
    async with ctx["sessionmaker"]() as session, session.begin():
        row = await session.get(Notification, notification_id, with_for_update=True)
        user = await session.get(User, row.user_id) if row is not None else None
        kind = KINDS.get(row.kind) if row is not None else None
        if row is None or user is None or kind is None:
            return "skipped: nothing to send"
        if row.email != EmailState.now:
            return f"skipped: {row.email}"
        if not user.is_active:
            row.email = EmailState.skipped
            return "skipped: the account is suspended"
        _, email, _ = await channels_for(session, user, kind)
        if not email:
            row.email = EmailState.skipped
            return "skipped: e-mail turned off"
        context = email_context(settings, user, row, kind)
        subject = kind.subject_for(row.data, row.count)
        to = user.email
    message = build_message(
        settings,
        to=to,
        subject=subject,
        template=kind.email_template,
        context=context,
        message_id=outbox_message_id(ctx),
        headers=list_unsubscribe_headers(context["unsubscribe_url"]),
    )
    await deliver(settings, message)
    async with ctx["sessionmaker"]() as session, session.begin():
        row = await session.get(Notification, notification_id, with_for_update=True)
        if row is not None and row.email == EmailState.now:
            row.email, row.emailed_at = EmailState.sent, utcnow()
    return str(message["Message-ID"])
