"""What a person was notified of: their notification rows, oldest first."""

from __future__ import annotations

from sqlalchemy import select

from app.notifications.models import Notification


async def notices(db, user_id: int, kind: str | None = None) -> list[Notification]:
    query = select(Notification).where(Notification.user_id == user_id).order_by(Notification.id)
    if kind is not None:
        query = query.where(Notification.kind == kind)
    return list((await db.scalars(query.execution_options(populate_existing=True))).all())


async def only_notice(db, user_id: int, kind: str) -> Notification:
    """The person's one notification of `kind` (fails when there is none or several)."""
    [row] = await notices(db, user_id, kind)
    return row
