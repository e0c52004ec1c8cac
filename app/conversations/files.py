"""Downloading a conversation's files and thumbnails: for its two parties only (anyone else,
admins included, gets 404), bytes from private storage, headers that keep them inert."""

from __future__ import annotations

from litestar import Controller, Request, Response, get
from litestar.params import FromPath
from sqlalchemy import select

from app.accounts.guards import CurrentUser, requires_login
from app.conversations.attachments import PICTURES, content_disposition, download_name
from app.conversations.models import Message, MessageAttachment
from app.conversations.services import conversation_of_party
from app.db import DB
from app.errors import NotFound
from app.files.models import StoredFile
from app.files.storage import storage_for
from app.files.uploads import JPEG

MAX_ID = 40  # public ids are 4 + 24 characters: anything longer is no id of ours


class MessageFileController(Controller):
    path = "/messages/{conversation_id:str}/files/{attachment_id:str}"
    guards = [requires_login]

    async def _attachment(self, db, conversation_id: str, attachment_id: str, user) -> MessageAttachment:
        if len(conversation_id) > MAX_ID or len(attachment_id) > MAX_ID:
            raise NotFound(attachment_id)
        conversation = await conversation_of_party(db, conversation_id, user)
        if conversation is None:
            raise NotFound(conversation_id)
        attachment = await db.scalar(
            select(MessageAttachment)
            .join(Message, Message.id == MessageAttachment.message_id)
            .where(MessageAttachment.public_id == attachment_id, Message.conversation_id == conversation.id)
        )
        if attachment is None:
            raise NotFound(attachment_id)
        return attachment

    @get("/", name="conversations:file")
    async def file(
        self, request: Request, conversation_id: FromPath[str], attachment_id: FromPath[str], db: DB, user: CurrentUser
    ) -> Response:
        """The file as it was sent: raster pictures shown in the browser, anything else saved."""
        attachment = await self._attachment(db, conversation_id, attachment_id, user)
        row = attachment.file
        return await _send(request, row, download_name(row.original_name, row.content_type),
                           inline=row.content_type in PICTURES, cache="private, no-store")  # fmt: skip

    @get("/thumb", name="conversations:thumbnail")
    async def thumbnail(
        self, request: Request, conversation_id: FromPath[str], attachment_id: FromPath[str], db: DB, user: CurrentUser
    ) -> Response:
        """The small JPEG the server made of a picture."""
        attachment = await self._attachment(db, conversation_id, attachment_id, user)
        if attachment.thumbnail is None:
            raise NotFound(attachment_id)
        name = download_name(attachment.file.original_name.rsplit(".", 1)[0] + " (small)", JPEG)
        return await _send(request, attachment.thumbnail, name, inline=True, cache="private, no-store")


async def _send(request: Request, row: StoredFile, name: str, *, inline: bool, cache: str) -> Response:
    data = await storage_for(request.app.state.settings).get(row.storage_key)
    return Response(
        data,
        media_type=row.content_type,  # text/plain gets "; charset=utf-8" from the framework
        headers={
            "Content-Disposition": content_disposition(name, inline=inline),
            "Cache-Control": cache,
            # Even a file that slipped past the checks could not run anything here.
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "X-Content-Type-Options": "nosniff",
        },
    )
