"""An e-mail is an outbox row in the caller's transaction; the worker renders and sends it."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosmtplib
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.web.templating import email_environment
from app.worker.outbox import defer


def send_email_later(
    session: AsyncSession, *, to: str, subject: str, template: str, context: dict[str, Any] | None = None
) -> None:
    """Send an e-mail once the caller's transaction commits (nothing if it rolls back).
    `template` names a pair under templates/emails/: `<template>.html` and `<template>.txt`."""
    defer(session, "send_email", to=to, subject=subject, template=template, context=context or {})


def build_message(
    settings: Settings,
    *,
    to: str,
    subject: str,
    template: str,
    context: dict[str, Any],
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    env = email_environment()
    ctx = {"subject": subject, "app_base_url": settings.app_base_url, **context}
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="pactline.test")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(env.get_template(f"emails/{template}.txt").render(ctx))
    message.add_alternative(env.get_template(f"emails/{template}.html").render(ctx), subtype="html")
    return message


async def deliver(settings: Settings, message: EmailMessage) -> None:
    """smtp://host:port (plain), smtp+starttls://…, smtps://… (TLS); credentials in the URL."""
    url = urlsplit(settings.smtp_url)
    scheme = url.scheme.lower()
    if scheme not in {"smtp", "smtps", "smtp+starttls"}:
        raise ValueError(f"SMTP_URL scheme must be smtp, smtp+starttls or smtps, not {scheme!r}")
    await aiosmtplib.send(
        message,
        hostname=url.hostname or "localhost",
        port=url.port or (465 if scheme == "smtps" else 587 if scheme == "smtp+starttls" else 25),
        username=unquote(url.username) if url.username else None,
        password=unquote(url.password) if url.password else None,
        use_tls=scheme == "smtps",
        start_tls=True if scheme == "smtp+starttls" else False,
        timeout=30,
    )
