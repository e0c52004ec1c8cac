"""New messages tell the other party: one unread notification per conversation that counts up,
read (and the bell down) as soon as they open the conversation; an edit tells nobody; nothing is
kept when the message is not."""

from __future__ import annotations

import pytest

from app.conversations import services as conversations
from app.notifications.kinds import get
from app.notifications.models import EmailState
from app.notifications.services import unread_count
from tests.conversations.helpers import contract_conversation, say
from tests.conversations.test_pages import post_message
from tests.support.notifications import count_of, forget_notifications, notifications_of, signals_of


async def test_three_messages_are_one_unread_row_counting_three_and_opening_the_conversation_reads_it(
    db, client, contractor, smtp_server
):
    contract, conversation = await contract_conversation(db, client, contractor)
    await forget_notifications(db)
    for body in ("The shoot is on Tuesday.", "At 9.", "Bring the logo files."):
        assert (await post_message(client, conversation, body)).status_code == 303
    [row] = await notifications_of(db, contractor.user.id)
    assert row.kind == "message.new" and row.count == 3 and row.read_at is None
    assert row.link == conversation.path and row.group_key == f"conversation:{conversation.public_id}"
    assert row.title == f"{client.user.name} sent you a message about “{contract.title}”."
    assert get(row.kind).title_for(row.data, row.count) == (
        f"{client.user.name} sent you 3 messages about “{contract.title}”."
    )
    assert row.email == EmailState.later  # e-mailed only if still unread a while later
    assert await unread_count(db, contractor.user.id) == 1
    assert await notifications_of(db, client.user.id) == []  # the sender is told nothing
    live = await signals_of(db, contractor.user.id)
    assert [s["kind"] for s in live] == ["message.new"] * 3
    assert live[-1]["message"] == f"{client.user.name} sent you 3 messages about “{contract.title}”."

    page = await contractor.get(conversation.path)
    assert page.status_code == 200 and "Bring the logo files." in page.text
    assert await unread_count(db, contractor.user.id) == 0
    [row] = await notifications_of(db, contractor.user.id)
    assert row.read_at is not None
    assert (await signals_of(db, contractor.user.id))[-1] == {"read": 1}  # every open page's bell falls
    assert not [m for m in smtp_server.messages if "New message" in m["Subject"]]

    await post_message(client, conversation, "One more thing.")  # after reading: a new row
    assert [r.count for r in await notifications_of(db, contractor.user.id)] == [3, 1]


async def test_the_open_page_re_fetching_new_messages_reads_them(db, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    await forget_notifications(db)
    await contractor.get(conversation.path)  # the contractor has the conversation open
    await post_message(client, conversation, "Are you there?")
    assert await unread_count(db, contractor.user.id) == 1
    window = await contractor.htmx("GET", f"{conversation.path}/since")  # the page's live re-fetch
    assert "Are you there?" in window.text
    assert await unread_count(db, contractor.user.id) == 0


async def test_an_edit_tells_nobody(db, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    await forget_notifications(db)
    message = await say(db, conversation, contractor.user, "The invoice is atached.")
    await conversations.edit(db, conversation, contractor.user, message.public_id, "The invoice is attached.")
    await db.commit()
    [row] = await notifications_of(db, client.user.id)
    assert row.count == 1
    assert len(await signals_of(db, client.user.id)) == 1


async def test_a_message_refused_or_rolled_back_keeps_no_notification(app, db, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    await forget_notifications(db)
    with pytest.raises(conversations.MessageRejected):
        await conversations.send(db, conversation, client.user, "bad\x00", client_key="k1")
    await db.rollback()
    async with app.state.sessionmaker() as s:
        mine = await conversations.conversation_of_party(s, conversation.public_id, client.user)
        await conversations.send(s, mine, client.user, "Never kept.", client_key="k2")
        await s.rollback()
    answer = await post_message(client, conversation, "x" * 200_000)  # over the limit: 422, nothing kept
    assert answer.status_code == 422
    assert await count_of(db, "message.new") == 0
    assert await unread_count(db, contractor.user.id) == 0
    assert await signals_of(db, contractor.user.id) == []
