"""Keeping an upload: its bytes in storage, its row in `stored_files`, in the caller's transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.files.models import FilePurpose, StoredFile
from app.files.storage import Storage, new_key
from app.files.uploads import CheckedUpload


async def store_file(
    db: AsyncSession, storage: Storage, owner: User, purpose: FilePurpose, upload: CheckedUpload
) -> StoredFile:
    key = new_key(purpose.value)
    await storage.put(key, upload.data)
    row = StoredFile(
        owner_id=owner.id,
        purpose=purpose,
        content_type=upload.content_type,
        size=upload.size,
        sha256=upload.sha256,
        storage_key=key,
        original_name=upload.name,
    )
    db.add(row)
    await db.flush()
    return row
