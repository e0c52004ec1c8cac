"""The worker side of e-mail."""

from __future__ import annotations

from typing import Any

from app.mail.services import build_message, deliver
from app.worker.registry import task


@task(retries=6, retry_delay=5.0, max_delay=1800.0, timeout=60)
async def send_email(ctx: dict, *, to: str, subject: str, template: str, context: dict[str, Any]) -> str:
    settings = ctx["settings"]
    message = build_message(settings, to=to, subject=subject, template=template, context=context)
    await deliver(settings, message)
    return str(message["Message-ID"])
