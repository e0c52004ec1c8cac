"""`notify()`: tell a person something, inside the transaction of the change that caused it.

The row, its live signal and its e-mail (an outbox row) commit with the change or not at all
(DESIGN §6). Everything a person should hear about goes through here; account-security mail
(password reset, e-mail change, two-step sign-in) stays outside: it cannot be turned off."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.db import utcnow
from app.events import publish
from app.notifications.kinds import Kind, get
from app.notifications.models import EmailState, Notification, NotificationPreference, NotificationSettings
from app.worker.outbox import defer

# The live event every change to a person's notifications sends: the bell re-fetches itself and
# app.js shows `message` (when there is one) as a toast.
SIGNAL = "notification"


def new_public_id() -> str:
    return f"ntf_{secrets.token_urlsafe(18)}"


async def channels_for(db: AsyncSession, user: User, kind: Kind) -> tuple[bool, bool, bool]:
    """(in-app, e-mail, daily digest) for this person and kind: their choice, else the default."""
    row = await db.execute(
        select(NotificationPreference.in_app, NotificationPreference.email, NotificationSettings.daily_digest)
        .select_from(User)
        .outerjoin(
            NotificationPreference,
            (NotificationPreference.user_id == User.id) & (NotificationPreference.kind == kind.name),
        )
        .outerjoin(NotificationSettings, NotificationSettings.user_id == User.id)
        .where(User.id == user.id)
    )
    in_app, email, digest = row.one()
    return (kind.in_app if in_app is None else in_app, kind.email if email is None else email, bool(digest))


async def notify(
    db: AsyncSession,
    user: User | int,
    kind_name: str,
    *,
    link: str,
    group: str | None = None,
    **data: Any,
) -> Notification | None:
    """Tell `user` about `kind_name` (declared in kinds.py); `link` is the path of the thing it is
    about; `data` (JSON values, plain text) fills the kind's title and e-mail. With `group`, an
    unread row of the same group is counted up instead of adding another (new messages in one
    conversation). Nothing is kept for a person who turned both channels off. `user` may be the
    person's id when the caller has not loaded them."""
    kind = get(kind_name)
    if isinstance(user, int):
        user = await db.get_one(User, user)
    if str(user.role) not in kind.roles:  # Role is a StrEnum: its str is the role's name
        raise ValueError(f"a {user.role} does not get {kind_name!r} notifications")
    in_app, email, digest = await channels_for(db, user, kind)
    if not (in_app or email):
        return None
    if not email or not user.is_active:
        state = EmailState.none
    elif digest:
        state = EmailState.digest
    elif kind.email_after is not None:
        state = EmailState.later
    else:
        state = EmailState.now
    now = utcnow()
    values = {
        "public_id": new_public_id(),
        "user_id": user.id,
        "kind": kind.name,
        "title": kind.title_for(data)[:500],
        "link": link[:500],
        "data": data,
        "group_key": group,
        "in_app": in_app,
        "email": state,
        "created_at": now,
        "updated_at": now,
    }
    statement = insert(Notification).values(**values)
    if group is not None:
        # Counted up under the partial unique index; its e-mail stays where it stood (one
        # e-mail per unread run, not per message).
        statement = statement.on_conflict_do_update(
            index_elements=["user_id", "group_key"],
            index_where=Notification.read_at.is_(None) & Notification.group_key.is_not(None),
            set_={
                "count": Notification.count + 1,
                "data": statement.excluded.data,
                "updated_at": now,
                "in_app": statement.excluded.in_app,
            },
        )
    # The row as it now stands (a grouped one counted up) comes back from the statement itself.
    notification = await db.scalar(statement.returning(Notification), execution_options={"populate_existing": True})
    assert notification is not None
    if state == EmailState.now and notification.count == 1:
        defer(db, "send_notification_email", notification_id=notification.id)
    if in_app:
        title = kind.title_for(notification.data, notification.count)
        publish(
            db,
            user.id,
            SIGNAL,
            {"id": notification.public_id, "kind": kind.name, "message": title, "level": kind.level},
        )
    return notification


def unread_query(user_id: int):
    return (
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None), Notification.in_app.is_(True))
    )


async def unread_count(db: AsyncSession, user_id: int) -> int:
    return int(await db.scalar(unread_query(user_id)) or 0)


async def mark_read(db: AsyncSession, user: User, *, public_id: str | None = None, group: str | None = None) -> int:
    """Mark one notification (by its public id), one group's, or all of a person's as read;
    returns how many changed. Already-read rows are left alone (their time stays), and the bell
    of every open page re-fetches itself when something changed."""
    statement = (
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if public_id is not None:
        statement = statement.where(Notification.public_id == public_id)
    if group is not None:
        statement = statement.where(Notification.group_key == group)
    changed = (await db.execute(statement)).rowcount or 0
    if changed:
        publish(db, user.id, SIGNAL, {"read": changed})
    return changed
