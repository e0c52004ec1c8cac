"""Upload checks: the type is decided by the file's first bytes (never by its name or the
browser's claim), the size by counting what was read."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from litestar.datastructures import UploadFile

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_FILE_LABEL = "10 MB"
# Room for the form fields and multipart framing around the files of one request.
FORM_OVERHEAD_BYTES = 64 * 1024

JPEG, PNG, WEBP, PDF = "image/jpeg", "image/png", "image/webp", "application/pdf"
ZIP, TEXT, GIF = "application/zip", "text/plain", "image/gif"
IMAGES = (JPEG, PNG, WEBP)
IMAGES_AND_PDF = (JPEG, PNG, WEBP, PDF)
# What a contractor may deliver with a milestone (decision 0034).
DELIVERY_TYPES = (PDF, JPEG, PNG, WEBP, ZIP, TEXT)
TYPE_NAMES = {JPEG: "JPEG", PNG: "PNG", WEBP: "WebP", GIF: "GIF", PDF: "PDF", ZIP: "ZIP", TEXT: "plain text"}
# Text has no magic bytes: it is text when all of it is UTF-8 without control characters
# other than tab, line breaks and form feed (so no program or archive passes as text).
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")


def sniff(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return ZIP
    return None


def is_text(data: bytes) -> bool:
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return _NOT_TEXT.search(decoded) is None


def chosen_files(field: Any) -> list[UploadFile]:
    """The files chosen in a multipart file field: one, a list, or none (an empty file input still
    sends a part, without a file name)."""
    values = field if isinstance(field, list | tuple) else [field]
    return [v for v in values if isinstance(v, UploadFile) and v.filename]


class UploadRejected(ValueError):
    """A file we will not keep; the message is for the person who chose it."""


@dataclass(frozen=True)
class CheckedUpload:
    data: bytes
    content_type: str
    sha256: str
    name: str

    @property
    def size(self) -> int:
        return len(self.data)


def allowed_words(allowed: tuple[str, ...]) -> str:
    names = [TYPE_NAMES[t] for t in allowed]
    kinds = " or ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else names[0]
    return f"a {kinds} file" if PDF in allowed else f"a {kinds} image"


def size_words(size: int) -> str:
    """A byte count for people: "820 bytes", "14 KB", "2.4 MB", "20 MB" (1 MB = 1024 × 1024 bytes,
    as the limits are counted)."""
    if size < 1024:
        return f"{size} byte" + ("" if size == 1 else "s")
    if size < 1024 * 1024:
        return f"{round(size / 1024)} KB"
    megabytes = size / (1024 * 1024)
    return f"{megabytes:.0f} MB" if megabytes >= 10 or megabytes == int(megabytes) else f"{megabytes:.1f} MB"


async def check_upload(
    upload: UploadFile | None, allowed: tuple[str, ...], *, limit: int | None = None
) -> CheckedUpload | None:
    """None when no file was chosen; UploadRejected when the file is too big or not what it claims.
    `limit` is the largest size in bytes (MAX_FILE_BYTES unless given)."""
    if upload is None or not isinstance(upload, UploadFile) or not upload.filename:
        return None
    limit = MAX_FILE_BYTES if limit is None else limit
    # Read at most one byte past the limit: a bigger file is refused without holding it all.
    data = await upload.read(limit + 1)
    await upload.close()
    if len(data) > limit:
        label = MAX_FILE_LABEL if limit == MAX_FILE_BYTES else size_words(limit)
        raise UploadRejected(f"This file is larger than {label}. Choose a smaller file.")
    if not data:
        raise UploadRejected("This file is empty. Choose another file.")
    content_type = sniff(data[:16])
    if content_type is None and TEXT in allowed and is_text(data):
        content_type = TEXT
    if content_type not in allowed:
        raise UploadRejected(
            f"This file is not {allowed_words(allowed)}, whatever its name says. Choose {allowed_words(allowed)}."
        )
    return CheckedUpload(data, content_type, hashlib.sha256(data).hexdigest(), upload.filename[:200])
