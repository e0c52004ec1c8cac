"""notify(): a row, a live signal and an e-mail (an outbox row) in the caller's transaction;
preferences, groups, suspended people."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from app.accounts.models import UserStatus
from app.events.models import OutboxEvent
from app.notifications import notify
from app.notifications.models import EmailState, Notification, NotificationPreference
from app.notifications.services import mark_read, unread_count
from tests.support.polling import wait_for


async def _signals(db, user_id):
    rows = await db.scalars(
        select(OutboxEvent).where(OutboxEvent.user_id == user_id, OutboxEvent.event == "notification")
    )
    return [json.loads(r.data) for r in rows]


async def test_a_notification_is_kept_signalled_and_emailed_after_commit(db, contractor, smtp_server):
    user = contractor.user
    made = await notify(db, user, "milestone.funded", link="/contracts/1", milestone="Logo", amount="€500.00")
    await db.commit()
    assert made.title == "“Logo” is funded: €500.00 is held in escrow."
    assert await unread_count(db, user.id) == 1
    [signal] = await _signals(db, user.id)
    assert signal["message"] == made.title and signal["id"] == made.public_id
    [mail] = await smtp_server.wait_for(1)
    assert mail["Subject"] == "Funded: Logo"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/unsubscribe/" in mail["List-Unsubscribe"]
    text = mail.get_body(("plain",)).get_content()
    assert "“Logo” is funded" in text and "/contracts/1" in text
    # The task marks the row in its own transaction once the mail server has the message.
    await wait_for(lambda: _state_is(db, made.id, EmailState.sent), seconds=10, what="the row marked sent")


async def _state_is(db, notification_id, state):
    await db.rollback()  # a fresh look, not the snapshot of an open transaction
    row = await db.get(Notification, notification_id, populate_existing=True)
    return row.email == state


async def test_nothing_is_kept_when_the_change_rolls_back(db, contractor):
    await notify(db, contractor.user, "milestone.funded", link="/contracts/1", milestone="Logo", amount="€5")
    await db.rollback()
    assert await db.scalar(select(func.count()).select_from(Notification)) == 0
    assert await db.scalar(select(func.count()).select_from(OutboxEvent)) == 0


async def test_a_kind_turned_off_keeps_nothing_and_email_off_sends_nothing(db, contractor, smtp_server):
    user = contractor.user
    db.add(NotificationPreference(user_id=user.id, kind="milestone.funded", in_app=False, email=False))
    db.add(NotificationPreference(user_id=user.id, kind="milestone.released", in_app=True, email=False))
    await db.commit()
    assert await notify(db, user, "milestone.funded", link="/c", milestone="A", amount="€1") is None
    kept = await notify(db, user, "milestone.released", link="/c", milestone="A", amount="€1")
    await db.commit()
    assert kept.email == EmailState.none
    assert await db.scalar(select(func.count()).select_from(Notification)) == 1
    assert smtp_server.messages == []


async def test_a_suspended_person_gets_no_email(db, contractor, smtp_server):
    user = contractor.user
    user.status = UserStatus.suspended
    made = await notify(db, user, "milestone.funded", link="/c", milestone="A", amount="€1")
    await db.commit()
    assert made.email == EmailState.none
    assert smtp_server.messages == []


async def test_new_messages_in_one_conversation_count_up_one_row_until_read(db, client, contractor):
    user = contractor.user
    for _ in range(3):
        await notify(db, user, "message.new", link="/messages/x", group="conversation:x", sender="Clara", about="Logo")
        await db.commit()
    row = await db.scalar(select(Notification))
    assert row.count == 3 and row.email == EmailState.later
    assert await unread_count(db, user.id) == 1
    assert await mark_read(db, user, group="conversation:x") == 1
    await db.commit()
    await notify(db, user, "message.new", link="/messages/x", group="conversation:x", sender="Clara", about="Logo")
    await db.commit()
    assert await db.scalar(select(func.count()).select_from(Notification)) == 2
    assert await unread_count(db, user.id) == 1


async def test_a_person_may_be_named_by_id_and_a_role_that_cannot_get_a_kind_is_refused(db, client, contractor):
    import pytest

    made = await notify(db, contractor.user.id, "milestone.funded", link="/c", milestone="A", amount="€1")
    assert made.user_id == contractor.user.id
    with pytest.raises(ValueError, match="does not get"):
        await notify(db, client.user, "payout.paid", link="/earnings", amount="€1")
    await db.rollback()
