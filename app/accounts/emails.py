"""The e-mails accounts send: links to confirm an address or to set a password."""

from __future__ import annotations

from saq import Queue

from app.accounts.models import User
from app.accounts.tokens import make_verification_token
from app.config import Settings
from app.mail.services import queue_email


async def send_verification(queue: Queue, settings: Settings, user: User) -> None:
    token = make_verification_token(settings.secret_key, user.id, user.email)
    await queue_email(
        queue,
        to=user.email,
        subject="Confirm your e-mail address",
        template="verify_email",
        context={"name": user.name, "link": f"{settings.app_base_url}/verify-email/{token}"},
    )


async def send_password_link(
    queue: Queue, settings: Settings, user: User, token: str, *, subject: str, template: str
) -> None:
    """A link to /reset/<token>: a password reset, or a new admin choosing a first password."""
    await queue_email(
        queue,
        to=user.email,
        subject=subject,
        template=template,
        context={"name": user.name, "link": f"{settings.app_base_url}/reset/{token}"},
    )
