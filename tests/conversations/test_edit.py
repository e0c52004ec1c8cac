"""Editing one's own message: a new version, the earlier one still shown ("edited"), a second hash
on the audit chain (never the text), both parties signalled; nobody else can edit, and an edit
sent twice or two at once never loses a version."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from sqlalchemy import func, select, update

from app.audit.models import AuditEvent
from app.conversations import services as conversations
from app.conversations.models import Conversation, Message, MessageVersion
from app.conversations.text import CONTACT_NOTE, MAX_BODY
from app.events.models import OutboxEvent
from tests.conversations.helpers import contract_conversation, say


async def test_an_edit_keeps_the_earlier_version_visible_and_hashes_the_new_one(db, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    message = await say(db, conversation, client.user, "The shoot is on Monday")
    edit = f"{conversation.path}/m/{message.public_id}/edit"
    form = await client.get(edit)
    assert form.status_code == 200 and "The shoot is on Monday" in form.text and "Save changes" in form.text

    answer = await client.post_form(edit, {"body": "The shoot is on Tuesday"})
    assert answer.status_code == 303 and answer.headers["location"] == f"{conversation.path}#m-{message.public_id}"

    page = (await contractor.get(conversation.path)).text
    assert "The shoot is on Tuesday" in page
    assert '<details class="message__versions">' in page and "Edited" in page
    assert "The shoot is on Monday" in page  # the earlier version, inside the details
    versions = list(await db.scalars(select(MessageVersion).where(MessageVersion.message_id == message.id)
                                      .order_by(MessageVersion.version)))  # fmt: skip
    assert [(v.version, v.body) for v in versions] == [(1, "The shoot is on Monday"), (2, "The shoot is on Tuesday")]
    chain = list(await db.scalars(select(AuditEvent).where(AuditEvent.subject_type == "conversation")
                                  .order_by(AuditEvent.seq)))  # fmt: skip
    assert [e.kind for e in chain] == ["message.sent", "message.edited"]
    assert chain[1].data == {"message": message.public_id, "version": 2, "sha256": versions[1].sha256}
    assert versions[1].sha256 == conversations.message_hash("The shoot is on Tuesday") != versions[0].sha256
    assert "Tuesday" not in json.dumps(chain[1].data)
    signals = [json.loads(e.data) for e in await db.scalars(select(OutboxEvent))]
    assert sum(1 for s in signals if s.get("what") == "edited") == 2  # both parties


async def test_an_edit_that_shares_contact_details_gets_the_note(db, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    message = await say(db, conversation, client.user, "Let's talk")
    assert not message.contact_warning
    await client.post_form(f"{conversation.path}/m/{message.public_id}/edit", {"body": "Write to zoe@example.com"})
    await db.refresh(message)
    assert message.contact_warning
    assert CONTACT_NOTE in (await contractor.get(conversation.path)).text


async def test_nobody_else_can_edit_and_bad_text_is_answered_next_to_the_field(db, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    message = await say(db, conversation, client.user, "Mine")
    edit = f"{conversation.path}/m/{message.public_id}/edit"
    assert (await contractor.post_form(edit, {"body": "Theirs now"})).status_code == 404
    empty = await client.post_form(edit, {"body": "  "})
    assert empty.status_code == 422 and "be left empty" in empty.text
    too_long = await client.post_form(edit, {"body": "x" * (MAX_BODY + 1)})
    assert too_long.status_code == 422 and f"up to {MAX_BODY:,} characters" in too_long.text
    await db.refresh(message)
    assert (message.body, message.version) == ("Mine", 1)


async def test_after_a_day_a_message_cannot_be_edited(db, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    message = await say(db, conversation, client.user, "Old news")
    await db.execute(update(Message).values(created_at=Message.created_at - timedelta(hours=25)))
    await db.commit()
    page = (await client.get(conversation.path)).text
    assert "/edit" not in page
    answer = await client.post_form(f"{conversation.path}/m/{message.public_id}/edit", {"body": "New news"})
    assert answer.status_code == 409
    assert await db.scalar(select(func.count()).select_from(MessageVersion)) == 1


async def test_the_same_edit_twice_at_once_is_one_version_and_two_edits_are_two(app, db, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    message = await say(db, conversation, client.user, "Draft")

    async def edit(body):
        async with app.state.sessionmaker() as session:
            mine = await session.get(Conversation, conversation.id)
            edited = await conversations.edit(session, mine, client.user, message.public_id, body)
            await session.commit()
            return edited.changed

    assert sorted(await asyncio.gather(*(edit("Final") for _ in range(4)))) == [False, False, False, True]
    await asyncio.gather(edit("Final A"), edit("Final B"))
    versions = list(await db.scalars(select(MessageVersion.version).where(MessageVersion.message_id == message.id)
                                      .order_by(MessageVersion.version)))  # fmt: skip
    assert versions == [1, 2, 3, 4]
    await db.refresh(message)
    assert message.version == 4
    edits = await db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == "message.edited"))
    assert edits == 3
