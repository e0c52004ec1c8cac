"""Files sent in a conversation: kept in private storage as `stored_files` rows, linked to their
message in the message's transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.conversations.models import Message, MessageAttachment
from app.files.models import FilePurpose
from app.files.services import store_file
from app.files.storage import Storage
from app.files.uploads import CheckedUpload


async def store_attachments(
    db: AsyncSession, storage: Storage, message: Message, sender: User, files: Sequence[CheckedUpload]
) -> list[MessageAttachment]:
    from app.conversations.services import new_public_id

    rows = []
    for position, upload in enumerate(files):
        stored = await store_file(db, storage, sender, FilePurpose.message_attachment, upload)
        row = MessageAttachment(
            public_id=new_public_id("att"), message_id=message.id, position=position, file_id=stored.id
        )
        db.add(row)
        rows.append(row)
    await db.flush()
    return rows
