"""What tests read of a person's notifications: their rows, newest last, and the live signals."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy import delete, func, select

from app.events.models import OutboxEvent
from app.notifications.models import Notification
from app.notifications.services import SIGNAL


async def notifications_of(db, user_id: int, kind: str | None = None) -> list[Notification]:
    query = select(Notification).where(Notification.user_id == user_id).order_by(Notification.id)
    if kind is not None:
        query = query.where(Notification.kind == kind)
    return list((await db.scalars(query.execution_options(populate_existing=True))).all())


async def only_notice(db, user_id: int, kind: str) -> Notification:
    """The person's one notification of `kind` (fails when there is none or several)."""
    [row] = await notifications_of(db, user_id, kind)
    return row


async def count_of(db, kind: str | None = None) -> int:
    query = select(func.count()).select_from(Notification)
    if kind is not None:
        query = query.where(Notification.kind == kind)
    return await db.scalar(query)


async def signals_of(db, user_id: int, event: str = SIGNAL) -> list[dict]:
    rows = await db.scalars(
        select(OutboxEvent).where(OutboxEvent.user_id == user_id, OutboxEvent.event == event).order_by(OutboxEvent.id)
    )
    return [json.loads(r.data) for r in rows]


async def mails_where(smtp_server, match, count: int = 1, timeout: float = 10.0) -> list:
    """The caught e-mails `match(message)` accepts, once there are `count` of them (other
    e-mails of the same test, e.g. the contract's own, may arrive in any order)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = [m for m in smtp_server.messages if match(m)]
        if len(found) >= count:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"expected {count} matching e-mail(s), got {len(found)}")
        await asyncio.sleep(0.05)


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def html_of(message) -> str:
    return message.get_body(("html",)).get_content()


async def forget_notifications(db) -> None:
    """Start from nobody having been told anything: the notifications a test's setup made (a
    contract sent and signed on the way to an active one) and their live signals are removed, so
    what the test looks at is only what its own step said."""
    await db.execute(delete(Notification))
    await db.execute(delete(OutboxEvent).where(OutboxEvent.event == SIGNAL))
    await db.commit()


def main_of(html: str) -> str:
    """A page's own content, without the top bar (whose bell says "Notifications, N unread")."""
    start = html.index('<main id="main"')
    return html[start : html.index("</main>", start)]
