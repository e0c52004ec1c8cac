"""Reading the composer and the edit form: the text, the composer's key and the files chosen."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from app.conversations.attachments import checked_files
from app.errors import FormError
from app.files.uploads import CheckedUpload, UploadRejected
from app.web.forms import Errors, text

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


def composer_values(data: dict[str, Any]) -> dict[str, str]:
    """What was typed, to show again next to the errors (cut at a length the page can carry)."""
    return {"body": _raw_body(data)[:20000]}


async def read_composer(data: dict[str, Any], settings=None) -> Composed:
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
    files: list[CheckedUpload] = []
    try:
        files = await checked_files(data.get("files"), settings)
    except UploadRejected as exc:
        errors.add("files", str(exc))
    if not errors and not body and not files:
        errors.add("body", "Write a message or attach a file.")
    if errors:
        raise FormError(errors)
    return Composed(body, key, tuple(files))
