"""`record_event`: the one entry point for security-relevant account history.

The contracts feature moves these into the hash-chained audit log; callers do not change."""

from __future__ import annotations

from typing import Any

from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import AccountEvent
from app.web.ratelimit import client_ip


def record_event(
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
        ip = client_ip(request, request.app.state.settings.trusted_proxies)
        user_agent = (request.headers.get("user-agent") or "")[:400] or None
    event = AccountEvent(
        user_id=user_id,
        actor_id=actor_id if actor_id is not None else user_id,
        kind=kind,
        ip=ip if ip and ip != "unknown" else None,
        user_agent=user_agent,
        data=data,
    )
    session.add(event)
    return event
