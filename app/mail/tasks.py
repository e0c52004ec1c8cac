"""The worker side of e-mail."""

from __future__ import annotations

from typing import Any

from app.mail.services import build_message, deliver
from app.worker.outbox import KEY_PREFIX
from app.worker.registry import task


def outbox_message_id(ctx: dict) -> str | None:
    """One Message-ID per outbox row: if a crash makes us send a row twice (ADR 0022), mail
    programs see the same message, not two."""
    job = ctx.get("job")
    if job is None or not job.key.startswith(KEY_PREFIX):
        return None
    return f"<{job.key}@pactline.test>"


@task(retries=6, retry_delay=5.0, max_delay=1800.0, timeout=60)
async def send_email(ctx: dict, *, to: str, subject: str, template: str, context: dict[str, Any]) -> str:
    settings = ctx["settings"]
    message = build_message(
        settings, to=to, subject=subject, template=template, context=context, message_id=outbox_message_id(ctx)
    )
    await deliver(settings, message)
    return str(message["Message-ID"])
