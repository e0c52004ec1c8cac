"""Reading the composer and the edit form: the text, the composer's key and the files chosen."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from litestar.datastructures import UploadFile

from app.errors import FormError
from app.files.uploads import DELIVERY_TYPES, CheckedUpload, UploadRejected, check_upload
from app.web.forms import Errors, text

MAX_FILES = 5
FILE_TYPES = DELIVERY_TYPES  # PDF, images, ZIP and plain text: decided from the bytes
# A composer key is what new_idempotency_key() renders: URL-safe, short.
_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


@dataclass(frozen=True)
class Composed:
    body: str
    client_key: str
    files: tuple[CheckedUpload, ...]


def _raw_body(data: dict[str, Any]) -> str:
    value = data.get("body", "")
    if isinstance(value, list):
        value = value[0] if value else ""
    return value if isinstance(value, str) else ""


def _uploads(data: dict[str, Any]) -> list[UploadFile]:
    value = data.get("files")
    values = value if isinstance(value, list) else [value]
    return [v for v in values if isinstance(v, UploadFile) and v.filename]


def composer_values(data: dict[str, Any]) -> dict[str, str]:
    """What was typed, to show again next to the errors (cut at a length the page can carry)."""
    return {"body": _raw_body(data)[:20000]}


async def read_composer(data: dict[str, Any]) -> Composed:
    from app.conversations.services import MessageRejected, checked_body

    errors = Errors()
    body = ""
    try:
        body = checked_body(_raw_body(data))
    except MessageRejected as exc:
        errors.add("body", str(exc))
    key = text(data, "client_key")
    if not _KEY.match(key):
        errors.add("body", "This form is out of date. Copy your message, reload the page and send it again.")
    uploads = _uploads(data)
    files: list[CheckedUpload] = []
    if len(uploads) > MAX_FILES:
        errors.add("files", f"Attach at most {MAX_FILES} files to one message.")
    else:
        for upload in uploads:
            try:
                checked = await check_upload(upload, FILE_TYPES)
            except UploadRejected as exc:
                errors.add("files", f"{upload.filename[:80]}: {exc}")
                continue
            if checked is not None:
                files.append(checked)
    if not errors and not body and not files:
        errors.add("body", "Write a message or attach a file.")
    if errors:
        raise FormError(errors)
    return Composed(body, key, tuple(files))
