"""`publish()`: queue a live event for a user inside the caller's transaction."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.events.models import OutboxEvent

_EVENT_NAME = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")
_PENDING = "pactline.outbox_pending"


def publish(session: AsyncSession, user_id: int, event: str, data: dict[str, Any] | list[Any]) -> OutboxEvent:
    """Queue `event` for `user_id`. It reaches the user's open tabs only if and after the
    surrounding transaction commits. An event is a signal (ADR 0023): its name says what changed
    and `data` (sent as JSON) carries ids and state names, never HTML; the page that shows the
    thing re-fetches its own block (`hx-trigger="sse:<event>"`), and "toast" is shown by app.js."""
    if not _EVENT_NAME.match(event):
        raise ValueError(f"invalid event name {event!r}")
    if not isinstance(data, dict | list):
        raise TypeError(f"event {event!r}: publish JSON data (a dict or a list), not {type(data).__name__}")
    row = OutboxEvent(user_id=user_id, event=event, data=json.dumps(data, separators=(",", ":"), default=str))
    session.add(row)
    kick_after_commit(session)
    return row


def kick_after_commit(session: AsyncSession | Session) -> None:
    """Wake the dispatcher once this transaction commits (live events and deferred jobs)."""
    session.info[_PENDING] = True


# After-commit nudge: the web process delivers at once; the worker's drain loop is the safety net.
_after_commit_callbacks: list = []


def on_outbox_commit(callback) -> None:
    """Register a zero-argument callable run after any commit that published events."""
    _after_commit_callbacks.append(callback)


def remove_outbox_commit(callback) -> None:
    if callback in _after_commit_callbacks:
        _after_commit_callbacks.remove(callback)


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_PENDING, False):
        for callback in list(_after_commit_callbacks):
            callback()


@sa_event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
