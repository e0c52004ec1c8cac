"""`record_event`: the one entry point for security-relevant account history.

Each event is written twice in the caller's transaction: to `account_events` (with the address
and browser, for the console's activity list; personal data that can be purged) and to the
tamper-evident audit chain (what happened, to whom, by whom — no address, since the chain can
never be edited)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import AccountEvent
from app.audit.chain import append
from app.web.ratelimit import request_ip

MAX_TEXT = 320  # what someone typed (an e-mail, a reason) is kept this long at most


def _bounded(value: Any) -> Any:
    """Typed text is stored bounded and without NUL (JSONB refuses it): a hostile sign-in attempt
    must not put a megabyte into the append-only chain."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")[:MAX_TEXT]
    return value


async def record_event(
    session: AsyncSession,
    kind: str,
    *,
    user_id: int | None = None,
    actor_id: int | None = None,
    request: Request | None = None,
    **data: Any,
) -> AccountEvent:
    """Add an event to the caller's transaction (it is kept only if that commits)."""
    ip = user_agent = None
    if request is not None:
        ip = request_ip(request)
        user_agent = (request.headers.get("user-agent") or "")[:400] or None
    data = {key: _bounded(value) for key, value in data.items()}
    event = AccountEvent(
        user_id=user_id,
        actor_id=actor_id if actor_id is not None else user_id,
        kind=kind,
        ip=ip if ip and ip != "unknown" else None,
        user_agent=user_agent.replace("\x00", "\ufffd") if user_agent else None,
        data=data,
    )
    session.add(event)
    await append(
        session,
        kind,
        actor_id=event.actor_id,
        subject_type="user" if user_id is not None else None,
        subject_id=user_id,
        data=data,
    )
    return event
