"""What the conversation pages read: a person's list (newest activity first, with unread counts)
and one conversation's messages a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.contracts.models import Contract
from app.conversations.models import Conversation, ConversationParticipant, Message
from app.marketplace.models import Proposal

PAGE = 30
"""Messages per page: the newest on opening, then as many again each time earlier ones load."""

PREVIEW = 90


@dataclass(frozen=True)
class Subject:
    """What a conversation is about: the contract's or the job's title, and where it lives."""

    title: str
    kind: str  # "contract" or "proposal"
    route: str
    params: dict


@dataclass(frozen=True)
class Row:
    conversation: Conversation
    other: User | None
    subject: Subject
    last: Message | None
    unread: int

    @property
    def preview(self) -> str:
        if self.last is None:
            return ""
        text = " ".join(self.last.body.split())
        if not text and self.last.attachments:
            names = ", ".join(a.file.original_name for a in self.last.attachments)
            text = f"Sent {names}"
        return text if len(text) <= PREVIEW else text[: PREVIEW - 1].rstrip() + "…"

    @property
    def last_at(self) -> datetime | None:
        return self.last.created_at if self.last else None


def other_party(conversation: Conversation, user: User) -> User | None:
    return next((p.user for p in conversation.participants if p.user_id != user.id), None)


async def subject_of(db: AsyncSession, conversation: Conversation) -> Subject:
    if conversation.contract_id is not None:
        contract = await db.get_one(Contract, conversation.contract_id)
        return Subject(contract.title, "contract", "contracts:detail", {"contract_id": contract.id})
    proposal = await db.get_one(Proposal, conversation.proposal_id)
    return Subject(proposal.job.title, "proposal", "proposals:detail", {"proposal_id": proposal.id})


def _unread_count(user: User):
    mine = ConversationParticipant
    return (
        select(func.count(Message.id))
        .where(
            Message.conversation_id == Conversation.id,
            Message.sender_id != user.id,
            Message.id > func.coalesce(mine.last_read_message_id, 0),
        )
        .correlate(Conversation, mine)
        .scalar_subquery()
    )


async def conversations_of(db: AsyncSession, user: User) -> list[Row]:
    """The person's conversations, newest activity first (the ones with no message yet last)."""
    found = (
        await db.execute(
            select(Conversation, _unread_count(user))
            .join(
                ConversationParticipant,
                and_(
                    ConversationParticipant.conversation_id == Conversation.id,
                    ConversationParticipant.user_id == user.id,
                ),
            )
            .order_by(Conversation.last_message_at.desc().nulls_last(), Conversation.id.desc())
        )
    ).all()
    ids = [conversation.id for conversation, _ in found]
    last: dict[int, Message] = {}
    if ids:
        newest = (
            select(Message)
            .where(Message.conversation_id.in_(ids))
            .ext(distinct_on(Message.conversation_id))
            .order_by(Message.conversation_id, Message.id.desc())
        )
        last = {m.conversation_id: m for m in (await db.scalars(newest)).unique()}
    return [
        Row(
            conversation,
            other_party(conversation, user),
            await subject_of(db, conversation),
            last.get(conversation.id),
            unread,
        )
        for conversation, unread in found
    ]


@dataclass(frozen=True)
class Window:
    """Messages shown together, oldest first; `earlier` is the public id to load before them
    (None when these reach the first message)."""

    messages: list[Message]
    earlier: str | None


async def _id_of(db: AsyncSession, conversation: Conversation, public_id: str | None) -> int | None:
    if not public_id:
        return None
    return await db.scalar(
        select(Message.id).where(Message.conversation_id == conversation.id, Message.public_id == public_id)
    )


async def page_before(db: AsyncSession, conversation: Conversation, before: str | None) -> Window | None:
    """The PAGE messages just before `before` (the newest PAGE without it). None: `before` names
    no message of this conversation."""
    query = select(Message).where(Message.conversation_id == conversation.id)
    if before:
        before_id = await _id_of(db, conversation, before)
        if before_id is None:
            return None
        query = query.where(Message.id < before_id)
    rows = list((await db.scalars(query.order_by(Message.id.desc()).limit(PAGE + 1))).unique())
    more = len(rows) > PAGE
    shown = list(reversed(rows[:PAGE]))
    return Window(shown, shown[0].public_id if more and shown else None)


async def messages_from(db: AsyncSession, conversation: Conversation, start: str | None) -> Window | None:
    """Everything from message `start` to the newest (what a live page re-fetches: new messages,
    edits and receipts in one go, never twice, never one missing). No `start` (the conversation
    was empty when the page opened): every message, up to a page. None: `start` names no message
    of this conversation."""
    if not start:
        return await page_before(db, conversation, None)
    start_id = await _id_of(db, conversation, start)
    if start_id is None:
        return None
    rows = list(
        (
            await db.scalars(
                select(Message)
                .where(Message.conversation_id == conversation.id, Message.id >= start_id)
                .order_by(Message.id)
            )
        ).unique()
    )
    return Window(rows, None)
