"""Conversation verbs: open the conversation of a proposal or a contract, send a message.

Each verb runs in the caller's transaction: the message, its first version, its files' rows, the
hash on the audit chain and the live signals to both parties commit together or not at all."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.audit.chain import append
from app.contracts.models import Contract
from app.conversations.models import Conversation, ConversationParticipant, Message, MessageVersion
from app.conversations.queries import subject_of
from app.conversations.text import MAX_BODY, shares_contact_details
from app.db import utcnow
from app.events import publish
from app.files.storage import Storage
from app.files.uploads import CheckedUpload
from app.marketplace.models import Proposal
from app.notifications import notify
from app.notifications import services as notifications

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


def checked_body(body: str) -> str:
    """The text as kept (surrounding blank space removed), or MessageRejected saying what is wrong."""
    body = body.strip()
    if "\x00" in body:
        raise MessageRejected("The message contains an invisible NUL character. Remove it and try again.")
    if len(body) > MAX_BODY:
        raise MessageRejected(
            f"Messages can be up to {MAX_BODY:,} characters; this one has {len(body):,}. "
            "Shorten it, or send the rest as a file or a second message."
        )
    return body


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
    body = checked_body(body)
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
            contact_warning=shares_contact_details(body),
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
    if files:
        await store_attachments(db, storage, message, sender, files)
    conversation.last_message_at = now
    # The sender has seen their own message (only ever forward: a parallel send may be newer).
    await _advance(db, conversation, sender, message.id, now)
    await _keep_version(db, conversation, message, sender, now, kind="message.sent", what="sent")
    await _tell_others(db, conversation, sender)
    return Sent(message, repeated=False)


def notification_group(conversation: Conversation) -> str:
    """New messages of one conversation are one unread notification that counts up."""
    return f"conversation:{conversation.public_id}"


async def _tell_others(db: AsyncSession, conversation: Conversation, sender: User) -> None:
    about = (await subject_of(db, conversation)).title
    for participant in conversation.participants:
        if participant.user_id != sender.id:
            await notify(db, participant.user, "message.new", link=conversation.path,
                         group=notification_group(conversation), sender=sender.name, about=about)  # fmt: skip


async def _keep_version(
    db: AsyncSession, conversation: Conversation, message: Message, actor: User, now, *, kind: str, what: str
) -> None:
    """The message's current text as a version row, its hash (never the text) on the audit chain
    under the conversation, and the parties signalled: the same for the first version and an edit."""
    db.add(
        MessageVersion(
            message_id=message.id, version=message.version, body=message.body, sha256=message.sha256, written_at=now
        )
    )
    await append(
        db,
        kind,
        actor_id=actor.id,
        subject_type=SUBJECT,
        subject_id=conversation.public_id,
        data={"message": message.public_id, "version": message.version, "sha256": message.sha256},
    )
    signal(db, conversation, message, what)
    await db.flush()


def signal(db: AsyncSession, conversation: Conversation, message: Message, what: str) -> None:
    """Tell both parties' open pages (after commit) that something changed in this conversation."""
    for participant in conversation.participants:
        publish(
            db,
            participant.user_id,
            MESSAGE_EVENT,
            {
                "conversation": conversation.public_id,
                "message": message.public_id,
                "sender": message.sender_id,
                "what": what,
            },
        )


# ------------------------------------------------------------------ reading


async def _advance(db: AsyncSession, conversation: Conversation, user: User, message_id: int, now) -> bool:
    """Compare-and-set: move `user`'s read mark to `message_id` only if that is further than it
    is. True when it moved."""
    moved = await db.scalar(
        update(ConversationParticipant)
        .where(
            ConversationParticipant.conversation_id == conversation.id,
            ConversationParticipant.user_id == user.id,
            func.coalesce(ConversationParticipant.last_read_message_id, 0) < message_id,
        )
        .values(
            last_read_message_id=func.greatest(
                func.coalesce(ConversationParticipant.last_read_message_id, 0), message_id
            ),
            last_read_at=now,
        )
        .returning(ConversationParticipant.user_id)
        .execution_options(synchronize_session=False)
    )
    if moved is not None:
        mine = conversation.participant(user.id)
        if mine is not None:
            await db.refresh(mine, ["last_read_message_id", "last_read_at"])
    return moved is not None


async def mark_read(db: AsyncSession, conversation: Conversation, reader: User, message: Message | None) -> bool:
    """`reader` has the conversation open up to `message`: their read mark moves forward (never
    back), and only when it moved are the parties told ("seen"), so two open pages re-fetching
    each other's signals settle after one round. The conversation's new-message notification is
    read too (its bell falls); that changes nothing when it was read already."""
    if message is None or conversation.participant(reader.id) is None:
        return False
    await notifications.mark_read(db, reader, group=notification_group(conversation))
    if not await _advance(db, conversation, reader, message.id, utcnow()):
        return False
    signal(db, conversation, message, "seen")
    return True


# ------------------------------------------------------------------ editing

EDIT_WINDOW = timedelta(hours=24)
"""How long after sending its sender may edit a message (decision 0043)."""


def can_edit(message: Message, user: User, now=None) -> bool:
    return message.sender_id == user.id and (now or utcnow()) - message.created_at <= EDIT_WINDOW


async def message_in(
    db: AsyncSession, conversation: Conversation, public_id: str, *, lock: bool = False
) -> Message | None:
    query = select(Message).where(Message.conversation_id == conversation.id, Message.public_id == public_id)
    if lock:
        query = query.with_for_update(of=Message).execution_options(populate_existing=True)
    return await db.scalar(query)


@dataclass(frozen=True)
class Edited:
    message: Message
    changed: bool  # False: the text was already this (a form sent twice): nothing new was kept


async def edit(db: AsyncSession, conversation: Conversation, editor: User, public_id: str, body: str) -> Edited:
    """A new version of the sender's own message. The earlier versions stay (message_versions), the
    new hash goes on the audit chain; under the message's row lock, so two edits at once make two
    versions in order and a form sent twice makes one."""
    from app.errors import NotFound

    message = await message_in(db, conversation, public_id, lock=True)
    if message is None or message.sender_id != editor.id:
        raise NotFound()
    if not can_edit(message, editor):
        raise MessageRejected(
            "Messages can be edited for 24 hours after sending. Send a new message to correct this one."
        )
    body = checked_body(body)
    if not body and not message.attachments:
        raise MessageRejected("Write the message's new text (a message can't be left empty).")
    if body == message.body:
        return Edited(message, changed=False)
    digest = message_hash(body, [a.file.sha256 for a in message.attachments])
    now = utcnow()
    message.version += 1
    message.body = body
    message.sha256 = digest
    message.edited_at = now
    message.contact_warning = shares_contact_details(body)
    await _keep_version(db, conversation, message, editor, now, kind="message.edited", what="edited")
    return Edited(message, changed=True)


async def versions_of(db: AsyncSession, message_ids: Sequence[int]) -> dict[int, list[MessageVersion]]:
    """Earlier versions of edited messages, oldest first (the current one left out)."""
    if not message_ids:
        return {}
    rows = await db.scalars(
        select(MessageVersion).where(MessageVersion.message_id.in_(message_ids)).order_by(MessageVersion.version)
    )
    found: dict[int, list[MessageVersion]] = {}
    for row in rows:
        found.setdefault(row.message_id, []).append(row)
    for versions in found.values():
        versions.pop()  # the newest is the message's current text
    return found
