"""What a person chose: which kinds reach them in the app and by e-mail, and the daily digest.

A preference row is kept only for a kind whose choice differs from the kind's defaults (so a
kind whose default changes reaches everyone who never touched it); the daily digest is one
row in `notification_settings`. Every write is an upsert, so two saves sent at once leave one
row per kind and person."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.db import utcnow
from app.notifications.kinds import GROUPS, KINDS, Group, Kind, kinds_for
from app.notifications.models import NotificationPreference, NotificationSettings
from app.notifications.unsubscribe import ALL
from app.web.forms import checkbox, text

DIGEST_DAILY, DIGEST_OFF = "daily", "off"


@dataclass(frozen=True)
class Choice:
    kind: Kind
    in_app: bool
    email: bool


@dataclass(frozen=True)
class Preferences:
    """The page's table: the person's kinds grouped in the order of GROUPS, and the digest."""

    groups: list[tuple[Group, list[Choice]]]
    daily_digest: bool


def role_of(user: User) -> str:
    return str(getattr(user.role, "value", user.role))


def in_app_field(kind: Kind) -> str:
    return f"in_app:{kind.name}"


def email_field(kind: Kind) -> str:
    return f"email:{kind.name}"


async def load(db: AsyncSession, user: User) -> Preferences:
    rows = await db.scalars(select(NotificationPreference).where(NotificationPreference.user_id == user.id))
    saved = {row.kind: row for row in rows}
    digest = await db.scalar(select(NotificationSettings.daily_digest).where(NotificationSettings.user_id == user.id))
    groups: list[tuple[Group, list[Choice]]] = []
    for group in GROUPS:
        choices = []
        for kind in kinds_for(role_of(user)):
            if kind.group != group.key:
                continue
            row = saved.get(kind.name)
            choices.append(Choice(kind, row.in_app if row else kind.in_app, row.email if row else kind.email))
        if choices:
            groups.append((group, choices))
    return Preferences(groups, bool(digest))


@dataclass(frozen=True)
class PreferencesInput:
    choices: dict[str, tuple[bool, bool]]  # kind name → (in the app, by e-mail)
    daily_digest: bool


def read_form(data: dict[str, Any], user: User) -> PreferencesInput:
    """Only the kinds this person's role gets are read: any other name in the form is ignored.
    An unticked box sends nothing, so a kind missing from the form is off on both channels."""
    choices = {
        kind.name: (checkbox(data, in_app_field(kind)), checkbox(data, email_field(kind)))
        for kind in kinds_for(role_of(user))
    }
    return PreferencesInput(choices, text(data, "daily_digest") == DIGEST_DAILY)


async def set_choice(db: AsyncSession, user_id: int, kind: Kind, *, in_app: bool, email: bool) -> None:
    """One kind's choice: a row when it differs from the kind's defaults, none when it does not."""
    if in_app == kind.in_app and email == kind.email:
        await db.execute(
            delete(NotificationPreference).where(
                NotificationPreference.user_id == user_id, NotificationPreference.kind == kind.name
            )
        )
        return
    statement = insert(NotificationPreference).values(
        user_id=user_id, kind=kind.name, in_app=in_app, email=email, updated_at=utcnow()
    )
    await db.execute(
        statement.on_conflict_do_update(
            index_elements=["user_id", "kind"],
            set_={"in_app": statement.excluded.in_app, "email": statement.excluded.email, "updated_at": utcnow()},
        )
    )


async def set_daily_digest(db: AsyncSession, user_id: int, on: bool) -> None:
    statement = insert(NotificationSettings).values(user_id=user_id, daily_digest=on, updated_at=utcnow())
    await db.execute(
        statement.on_conflict_do_update(
            index_elements=["user_id"], set_={"daily_digest": statement.excluded.daily_digest, "updated_at": utcnow()}
        )
    )


async def save(db: AsyncSession, user: User, entry: PreferencesInput) -> None:
    for name, (in_app, email) in sorted(entry.choices.items()):  # one order: concurrent saves never deadlock
        await set_choice(db, user.id, KINDS[name], in_app=in_app, email=email)
    await set_daily_digest(db, user.id, entry.daily_digest)
    await db.commit()


async def email_off(db: AsyncSession, user: User, kind_name: str) -> None:
    """What an unsubscribe link does: e-mail off for one kind, the in-app choice kept; for "all",
    e-mail off for every kind the person can get, and the daily digest off."""
    if kind_name == ALL:
        kinds = kinds_for(role_of(user))
        await set_daily_digest(db, user.id, False)
    else:
        kinds = [KINDS[kind_name]]
    saved = {
        row.kind: row.in_app
        for row in await db.scalars(
            select(NotificationPreference).where(
                NotificationPreference.user_id == user.id, NotificationPreference.kind.in_([k.name for k in kinds])
            )
        )
    }
    for kind in sorted(kinds, key=lambda k: k.name):
        await set_choice(db, user.id, kind, in_app=saved.get(kind.name, kind.in_app), email=False)
    await db.commit()
