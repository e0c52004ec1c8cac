"""The send verb: one conversation per contract, one message per composer, only parties, a hash
(never the text) on the audit chain, both parties signalled after commit."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.conversations import services as conversations
from app.conversations.models import Conversation, ConversationParticipant, Message, MessageVersion
from app.events.models import OutboxEvent
from tests.conversations.helpers import contract_conversation, say


async def test_a_contract_has_one_conversation_between_its_parties(db, client, contractor):
    contract, conversation = await contract_conversation(db, client, contractor)
    again = await conversations.conversation_for_contract(db, contract)
    assert again.id == conversation.id
    parties = await db.scalars(
        select(ConversationParticipant.user_id).where(ConversationParticipant.conversation_id == conversation.id)
    )
    assert sorted(parties) == sorted([client.user.id, contractor.user.id])
    assert await db.scalar(select(func.count()).select_from(Conversation)) == 1


async def test_opening_it_twice_at_once_makes_one(app, db, client, contractor):
    from tests.contracts.helpers import active_contract

    contract, _ = await active_contract(db, client.user, contractor.user)

    async def open_it():
        async with app.state.sessionmaker() as session:
            made = await conversations.conversation_for_contract(session, contract)
            await session.commit()
            return made.id

    ids = await asyncio.gather(*(open_it() for _ in range(6)))
    assert len(set(ids)) == 1
    assert await db.scalar(select(func.count()).select_from(ConversationParticipant)) == 2


async def test_a_message_keeps_its_first_version_and_its_hash_not_its_text(db, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    message = await say(db, conversation, client.user, "  Zoë, the logo files are ready ✓  ")
    assert message.body == "Zoë, the logo files are ready ✓"
    version = await db.scalar(select(MessageVersion).where(MessageVersion.message_id == message.id))
    assert (version.version, version.body, version.sha256) == (1, message.body, message.sha256)
    assert message.sha256 == conversations.message_hash(message.body)
    event = await db.scalar(select(AuditEvent).where(AuditEvent.kind == "message.sent"))
    assert (event.subject_type, event.subject_id) == ("conversation", conversation.public_id)
    assert event.data == {"message": message.public_id, "version": 1, "sha256": message.sha256}
    assert "logo" not in str(event.data)
    told = await db.scalars(select(OutboxEvent.user_id).where(OutboxEvent.event == "message"))
    assert sorted(told) == sorted([client.user.id, contractor.user.id])


async def test_the_same_composer_sent_twice_in_parallel_is_one_message(app, db, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)

    async def send_once():
        async with app.state.sessionmaker() as session:
            mine = await session.get(Conversation, conversation.id)
            sent = await conversations.send(session, mine, client.user, "Hello", client_key="composer-1")
            await session.commit()
            return sent.repeated

    repeats = await asyncio.gather(*(send_once() for _ in range(5)))
    assert sorted(repeats) == [False, True, True, True, True]
    assert await db.scalar(select(func.count()).select_from(Message)) == 1
    assert await db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == "message.sent")) == 1


async def test_someone_outside_cannot_send_and_nothing_is_kept(db, client, contractor, other_contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    assert await conversations.conversation_of_party(db, conversation.public_id, other_contractor.user) is None
    with pytest.raises(conversations.MessageRejected):
        await conversations.send(db, conversation, other_contractor.user, "Hi", client_key="k")
    with pytest.raises(conversations.MessageRejected):
        await conversations.send(db, conversation, client.user, "   ", client_key="k2")
    await db.rollback()
    assert await db.scalar(select(func.count()).select_from(Message)) == 0
