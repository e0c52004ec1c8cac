"""Conversations (decision 0043): one per proposal and one per contract, between its parties.

- `conversations`: exactly one of `proposal_id` / `contract_id`; `public_id` is the address
  (`/messages/<public_id>`); `last_message_at` orders a person's list.
- `conversation_participants`: who may read and write (the two parties), and how far each has
  read (`last_read_message_id`), which gives both the unread marks and the "Seen" receipts.
- `messages`: the current text of each message; `client_key` makes a double-submitted form one
  message; `sha256` is the hash of the current version (text and attachments), the only thing
  that goes on the audit chain.
- `message_versions`: every version of every message, the first included; an edit adds a row and
  never changes one, so earlier versions stay readable by the parties.
- `message_attachments`: the files sent with a message (bytes in private storage through
  `stored_files`), with a server-made thumbnail for images."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CHAR,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, TimestampMixin


class Conversation(TimestampMixin, Base):
    __tablename__ = "conversations"
    __table_args__ = (CheckConstraint("(proposal_id IS NULL) <> (contract_id IS NULL)", name="one_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), unique=True)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"), unique=True)
    last_message_at: Mapped[datetime | None]

    participants: Mapped[list[ConversationParticipant]] = relationship(
        lazy="selectin", order_by="ConversationParticipant.user_id", cascade="all, delete-orphan"
    )

    @property
    def path(self) -> str:
        from app.web.urls import path_for

        return path_for("messages:detail", public_id=self.public_id)

    def participant(self, user_id: int) -> ConversationParticipant | None:
        return next((p for p in self.participants if p.user_id == user_id), None)


class ConversationParticipant(Base):
    __tablename__ = "conversation_participants"

    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    # The newest message this person has seen (theirs or the other side's); None: nothing yet.
    last_read_message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_read_at: Mapped[datetime | None]

    user = relationship("User", lazy="joined")


class Message(TimestampMixin, Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "sender_id", "client_key", name="uq_messages_client_key"),
        Index("ix_messages_conversation_id_id", "conversation_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    sender_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    # A fresh key in each rendered composer: the same form sent twice is one message.
    client_key: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    sha256: Mapped[str] = mapped_column(CHAR(64))
    edited_at: Mapped[datetime | None]
    # Looks like an e-mail address, a phone number or a payment handle (recomputed on edit).
    contact_warning: Mapped[bool] = mapped_column(default=False, server_default="false")

    sender = relationship("User", lazy="joined")
    attachments: Mapped[list[MessageAttachment]] = relationship(
        lazy="selectin", order_by="MessageAttachment.position", cascade="all, delete-orphan"
    )


class MessageVersion(Base):
    __tablename__ = "message_versions"
    __table_args__ = (UniqueConstraint("message_id", "version", name="uq_message_versions_message_version"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(CHAR(64))
    written_at: Mapped[datetime]


class MessageAttachment(Base):
    __tablename__ = "message_attachments"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_files.id", ondelete="RESTRICT"))
    # Images only: a small JPEG made by the server, and the original's pixel size.
    thumbnail_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_files.id", ondelete="SET NULL"))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)

    file = relationship("StoredFile", foreign_keys=[file_id], lazy="joined")
    thumbnail = relationship("StoredFile", foreign_keys=[thumbnail_file_id], lazy="joined")
