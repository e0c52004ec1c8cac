"""Conversation verbs: open the conversation of a proposal or a contract, send a message.

Each verb runs in the caller's transaction: the message, its first version, its files' rows, the
hash on the audit chain and the live signals to both parties commit together or not at all."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.audit.chain import append
from app.contracts.models import Contract
from app.conversations.models import Conversation, ConversationParticipant, Message, MessageVersion
from app.db import utcnow
from app.events import publish
from app.files.storage import Storage
from app.files.uploads import CheckedUpload
from app.marketplace.models import Proposal

SUBJECT = "conversation"
"""The audit chain's subject type for everything said in a conversation (hashes only, never text)."""

MESSAGE_EVENT = "message"
"""The lasting live event on each participant's own stream: data {conversation, message, what}
where `what` is "sent", "edited" or "seen". Pages re-fetch their own block when it arrives."""


def new_public_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(18)}"


def message_hash(body: str, file_hashes: Sequence[str] = ()) -> str:
    """What the audit chain keeps of a message version: SHA-256 over its text and its files'
    SHA-256s in order, so the text itself never enters the permanent record, yet a party holding
    the text and the files can show it is exactly what was sent."""
    canonical = json.dumps({"body": body, "files": list(file_hashes)}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


# ------------------------------------------------------------------ opening one


async def _conversation(db: AsyncSession, column, subject_id: int, party_ids: tuple[int, int]) -> Conversation:
    """Get or make, safe against two requests making it at once (the unique subject column)."""
    existing = await db.scalar(select(Conversation).where(column == subject_id))
    if existing is not None:
        return existing
    values = {column.key: subject_id, "public_id": new_public_id("conv")}
    made = await db.scalar(insert(Conversation).values(**values).on_conflict_do_nothing().returning(Conversation.id))
    if made is not None:
        await db.execute(
            insert(ConversationParticipant)
            .values([{"conversation_id": made, "user_id": uid} for uid in sorted(set(party_ids))])
            .on_conflict_do_nothing()
        )
    conversation = await db.scalar(
        select(Conversation).where(column == subject_id).execution_options(populate_existing=True)
    )
    assert conversation is not None
    return conversation


async def conversation_for_contract(db: AsyncSession, contract: Contract) -> Conversation:
    return await _conversation(db, Conversation.contract_id, contract.id, (contract.client_id, contract.contractor_id))


async def conversation_for_proposal(db: AsyncSession, proposal: Proposal) -> Conversation:
    return await _conversation(
        db, Conversation.proposal_id, proposal.id, (proposal.job.client_id, proposal.contractor_id)
    )


async def conversation_of_party(db: AsyncSession, public_id: str, user: User) -> Conversation | None:
    """The conversation if `user` takes part in it; None otherwise (the caller answers 404).
    Admins are not parties: they cannot read conversations."""
    return await db.scalar(
        select(Conversation)
        .join(ConversationParticipant)
        .where(Conversation.public_id == public_id, ConversationParticipant.user_id == user.id)
    )


# ------------------------------------------------------------------ sending


class MessageRejected(ValueError):
    """A message we will not keep; the text is for the person who wrote it."""


@dataclass(frozen=True)
class Sent:
    message: Message
    repeated: bool  # the same composer was sent before: this is that message, nothing new was kept


async def send(
    db: AsyncSession,
    conversation: Conversation,
    sender: User,
    body: str,
    *,
    client_key: str,
    files: Sequence[CheckedUpload] = (),
    storage: Storage | None = None,
) -> Sent:
    """Keep a message from a participant. `client_key` (a fresh one per rendered composer) makes a
    form sent twice — a double tap, two parallel requests, a retry — one message."""
    from app.conversations.attachments import store_attachments  # the files' own module

    if conversation.participant(sender.id) is None:
        raise MessageRejected("You are not part of this conversation.")
    body = body.strip()
    if not body and not files:
        raise MessageRejected("Write a message or attach a file.")
    if files and storage is None:
        raise ValueError("files need a storage")
    digest = message_hash(body, [f.sha256 for f in files])
    now = utcnow()
    # ON CONFLICT DO NOTHING waits for a parallel insert of the same key and then yields nothing.
    message_id = await db.scalar(
        insert(Message)
        .values(
            public_id=new_public_id("msg"),
            conversation_id=conversation.id,
            sender_id=sender.id,
            client_key=client_key,
            body=body,
            version=1,
            sha256=digest,
            created_at=now,
        )
        .on_conflict_do_nothing(constraint="uq_messages_client_key")
        .returning(Message.id)
    )
    if message_id is None:
        repeated = await db.scalar(
            select(Message).where(
                Message.conversation_id == conversation.id,
                Message.sender_id == sender.id,
                Message.client_key == client_key,
            )
        )
        assert repeated is not None
        return Sent(repeated, repeated=True)
    message = await db.get_one(Message, message_id)
    db.add(MessageVersion(message_id=message.id, version=1, body=body, sha256=digest, written_at=now))
    if files:
        await store_attachments(db, storage, message, sender, files)
    conversation.last_message_at = now
    mine = conversation.participant(sender.id)
    mine.last_read_message_id = message.id
    mine.last_read_at = now
    await append(
        db,
        "message.sent",
        actor_id=sender.id,
        subject_type=SUBJECT,
        subject_id=conversation.public_id,
        data={"message": message.public_id, "version": 1, "sha256": digest},
    )
    signal(db, conversation, message, "sent")
    await db.flush()
    return Sent(message, repeated=False)


def signal(db: AsyncSession, conversation: Conversation, message: Message, what: str) -> None:
    """Tell both parties' open pages (after commit) that something changed in this conversation."""
    for participant in conversation.participants:
        publish(
            db,
            participant.user_id,
            MESSAGE_EVENT,
            {"conversation": conversation.public_id, "message": message.public_id, "what": what},
        )
