"""Files sent in a conversation (decision 0044): checked before anything is kept (size, count, type
from the bytes, pictures decoded once to make their thumbnail), then kept in private storage as
`stored_files` rows linked to their message in the message's transaction."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import io
import os
import re
import unicodedata
import weakref
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread
from PIL import ExifTags, Image, ImageOps
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.config import Settings, get_settings, message_file_max_mb
from app.conversations.models import Message, MessageAttachment
from app.files.models import FilePurpose
from app.files.services import store_file
from app.files.storage import Storage
from app.files.uploads import (
    FORM_OVERHEAD_BYTES,
    GIF,
    JPEG,
    PDF,
    PNG,
    TEXT,
    TYPE_NAMES,
    WEBP,
    ZIP,
    CheckedUpload,
    UploadRejected,
    check_upload,
    chosen_files,
)

MB = 1024 * 1024
MAX_FILES = 5
"""Files one message may carry; more belong in one ZIP file."""

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
# What check_upload may decide from the first bytes; Office files are ZIP inside and are told
# apart afterwards by their parts (a macro-carrying one stays a plain ZIP).
SNIFFED_TYPES = (PDF, JPEG, PNG, WEBP, GIF, ZIP, TEXT)
PICTURES = (JPEG, PNG, WEBP, GIF)
"""Raster pictures: they get a thumbnail and may be shown inline (they cannot run anything)."""
KIND_WORDS = {
    **TYPE_NAMES,
    TEXT: "Text",
    DOCX: "Word document",
    XLSX: "Excel spreadsheet",
    PPTX: "PowerPoint presentation",
}
# The name a downloaded file is saved under ends in an extension that matches its content, so a
# text file called "run.bat" or a PDF called "page.html" cannot open as something else.
EXTENSIONS = {
    PDF: (".pdf",),
    JPEG: (".jpg", ".jpeg", ".jfif"),
    PNG: (".png",),
    WEBP: (".webp",),
    GIF: (".gif",),
    ZIP: (".zip",),
    TEXT: (".txt", ".csv", ".md", ".log"),
    DOCX: (".docx",),
    XLSX: (".xlsx",),
    PPTX: (".pptx",),
}
_OFFICE_PARTS = (("word/document.xml", DOCX), ("xl/workbook.xml", XLSX), ("ppt/presentation.xml", PPTX))

THUMBNAIL_EDGE = 480
"""The thumbnail's longer side in pixels (smaller pictures keep their size)."""
MAX_PICTURE_PIXELS = 50_000_000
"""Decoding a picture costs memory by its pixel count, not its file size: a few KB can claim
gigapixels. Anything above 50 megapixels is refused before it is decoded."""
# Text that starts like markup (a tag, a comment, a doctype, an XML declaration) is what a browser
# would take for a page: refused, as an HTML file renamed .png or .txt would otherwise pass as text.
_MARKUP = re.compile(r"\A\ufeff?\s*<[!?/a-zA-Z]")
_NAME_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def send_body_limit(max_file_mb: int) -> int:
    """The largest request the send route reads: MAX_FILES files of the limit, and the form."""
    return MAX_FILES * max_file_mb * MB + FORM_OVERHEAD_BYTES


SEND_BODY_LIMIT = send_body_limit(message_file_max_mb(os.environ))
"""For the send route's `request_max_body_size`: route limits are fixed when the app is built, so
this reads MESSAGE_FILE_MAX_MB from the environment itself. A bigger body gets the 413 page;
each file's own limit is checked by `checked_files` (422 next to the field)."""


@dataclass(frozen=True)
class CheckedAttachment(CheckedUpload):
    """A file ready to keep: for a picture also its upright size and the thumbnail made of it."""

    width: int | None = None
    height: int | None = None
    thumbnail: CheckedUpload | None = None


def limit_words(settings: Settings | None = None) -> str:
    """The file field's hint: "Up to 5 files, 20 MB each." (the kinds fold under "Which files?")."""
    settings = settings or get_settings()
    return f"Up to {MAX_FILES} files, {settings.message_file_max_mb} MB each."


def clean_name(name: str) -> str:
    """The file's name as people will see it: control characters, line breaks, direction marks and
    path parts taken out, at most 200 characters; never empty."""
    name = unicodedata.normalize("NFC", _NAME_CONTROL.sub("", name))
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip().lstrip(".").strip()
    return name[:200] or "file"


async def checked_files(form_files: Any, settings: Settings | None = None) -> list[CheckedAttachment]:
    """The files of a message form, checked before anything is kept.

    `form_files` is the multipart field `files` as the controller got it (`data.get("files")`: an
    UploadFile, a list of them, or nothing); pass `request.app.state.settings` as `settings`.
    Returns the files in the order chosen ([] when none), each with its type decided from its bytes
    and, for pictures, its thumbnail already made (off the event loop). Raises UploadRejected with
    one message for the person (naming each refused file) when there are more than MAX_FILES, or
    one is empty, larger than MESSAGE_FILE_MAX_MB, not a type we keep (whatever its name or the
    browser says), or a picture that cannot be decoded safely: show it next to the `files` field
    with status 422. Nothing has been stored at that point. Pass the result to
    `services.send(..., files=..., storage=storage_for(settings))`."""
    settings = settings or get_settings()
    uploads = chosen_files(form_files)
    if len(uploads) > MAX_FILES:
        for upload in uploads:
            await upload.close()
        raise UploadRejected(f"Attach at most {MAX_FILES} files to one message. Put more in one ZIP file.")
    problems, checked = [], []
    for upload in uploads:
        name = clean_name(upload.filename)
        try:
            one = await check_upload(upload, SNIFFED_TYPES, limit=settings.message_file_max_mb * MB)
            assert one is not None
            if one.content_type == TEXT and _MARKUP.match(one.data[:1024].decode("utf-8", "replace")):
                raise UploadRejected(
                    "This file is a web page or other markup (HTML, SVG or XML), whatever its name says. "
                    "Such files can run code when opened: put it in a ZIP file to send it."
                )
            checked.append(await prepare(dataclasses.replace(one, name=name)))
        except UploadRejected as exc:
            problems.append(f"{name[:80]}: {exc}")
    if problems:
        raise UploadRejected(" ".join(problems))
    return checked


async def prepare(upload: CheckedUpload) -> CheckedAttachment:
    """Tell Office files from other ZIP files; decode a picture once to make its thumbnail. The
    decoding runs in a worker thread: it takes a CPU for a moment and must not stall other requests."""
    if isinstance(upload, CheckedAttachment):
        return upload
    fields = {f.name: getattr(upload, f.name) for f in dataclasses.fields(CheckedUpload)}
    fields["name"] = clean_name(upload.name)
    if upload.content_type == ZIP:
        fields["content_type"] = await anyio.to_thread.run_sync(_zip_kind, upload.data)
        return CheckedAttachment(**fields)
    if upload.content_type in PICTURES:
        width, height, thumbnail = await anyio.to_thread.run_sync(_thumbnail, upload.data, limiter=_decoders())
        return CheckedAttachment(**fields, width=width, height=height, thumbnail=thumbnail)
    return CheckedAttachment(**fields)


PICTURES_AT_ONCE = 2
"""Pictures decoded at the same time in one process: a big PNG takes up to 4 bytes per pixel
while it is decoded, so many at once could exhaust a small server's memory."""
_limiters: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _decoders() -> anyio.CapacityLimiter:
    """The picture decoders' limiter of the running event loop (a limiter belongs to one loop)."""
    loop = asyncio.get_running_loop()
    if loop not in _limiters:
        _limiters[loop] = anyio.CapacityLimiter(PICTURES_AT_ONCE)
    return _limiters[loop]


def _zip_kind(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise UploadRejected("This ZIP file is damaged and cannot be opened. Make it again and attach it.") from None
    if "[Content_Types].xml" not in names or any(n.lower().endswith("vbaproject.bin") for n in names):
        return ZIP  # an archive, or an Office file with macros: kept as a plain ZIP (its name ends in .zip)
    return next((kind for part, kind in _OFFICE_PARTS if part in names), ZIP)


def thumbnail_size(width: int, height: int) -> tuple[int, int]:
    """The thumbnail's size for an upright picture of width × height (shared with the template's
    width/height attributes, so the page does not move when thumbnails arrive)."""
    scale = min(1.0, THUMBNAIL_EDGE / max(width, height))
    return max(1, int(width * scale + 0.5)), max(1, int(height * scale + 0.5))


def _thumbnail(data: bytes) -> tuple[int, int, CheckedUpload]:
    """(width, height, thumbnail) of a picture: upright (EXIF orientation applied), at most
    THUMBNAIL_EDGE on its longer side, a JPEG without any of the original's metadata."""
    unreadable = "This picture cannot be read: it may be damaged. Save it again or attach it in a ZIP file."
    try:
        with Image.open(io.BytesIO(data)) as picture:
            width, height = picture.size
            if width * height > MAX_PICTURE_PIXELS:
                raise UploadRejected(
                    f"This picture is too large to show ({width} × {height} pixels). "
                    f"Send one under {MAX_PICTURE_PIXELS // 1_000_000} megapixels, or attach it in a ZIP file."
                )
            if picture.getexif().get(ExifTags.Base.Orientation, 1) in (5, 6, 7, 8):
                width, height = height, width  # a sideways photo: people see it the other way round
            icc = picture.info.get("icc_profile")
            picture.draft("RGB", (THUMBNAIL_EDGE, THUMBNAIL_EDGE))  # JPEG decodes at a smaller scale: less memory
            upright = ImageOps.exif_transpose(picture)
            small = _flattened(upright).resize(thumbnail_size(width, height), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            # Saved without the original's EXIF (place, camera, time); only the colour profile stays.
            small.save(out, "JPEG", quality=82, optimize=True, **({"icc_profile": icc} if icc else {}))
    except UploadRejected:
        raise
    except Image.DecompressionBombError:
        raise UploadRejected(
            f"This picture claims too many pixels to show. Send one under "
            f"{MAX_PICTURE_PIXELS // 1_000_000} megapixels, or attach it in a ZIP file."
        ) from None
    except Exception:  # noqa: BLE001 — any decoder failure is a file we will not keep, never a 5xx
        raise UploadRejected(unreadable) from None
    thumb = out.getvalue()
    return width, height, CheckedUpload(thumb, JPEG, hashlib.sha256(thumb).hexdigest(), "thumbnail.jpg")


def _flattened(picture: Image.Image) -> Image.Image:
    """RGB on white: JPEG has no transparency, and a transparent area would come out black."""
    if picture.mode in ("RGBA", "LA") or (picture.mode == "P" and "transparency" in picture.info):
        rgba = picture.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return picture.convert("RGB")


async def store_attachments(
    db: AsyncSession, storage: Storage, message: Message, sender: User, files: Sequence[CheckedUpload]
) -> list[MessageAttachment]:
    """Keep a message's files, with their thumbnails, in the caller's transaction. Files that did
    not come through `checked_files` are prepared first, all of them before anything is written,
    so a picture that cannot be decoded is refused (UploadRejected) with nothing in storage."""
    from app.conversations.services import new_public_id

    prepared = [await prepare(upload) for upload in files]
    rows = []
    for position, upload in enumerate(prepared):
        stored = await store_file(db, storage, sender, FilePurpose.message_attachment, upload)
        thumbnail = None
        if upload.thumbnail is not None:
            thumbnail = await store_file(db, storage, sender, FilePurpose.message_thumbnail, upload.thumbnail)
        row = MessageAttachment(
            public_id=new_public_id("att"),
            message_id=message.id,
            position=position,
            file_id=stored.id,
            thumbnail_file_id=thumbnail.id if thumbnail else None,
            width=upload.width,
            height=upload.height,
        )
        db.add(row)
        rows.append(row)
    await db.flush()
    await db.refresh(message, attribute_names=["attachments"])  # the caller may render it next
    return rows


def download_name(name: str, content_type: str) -> str:
    """The name a file is saved under: the cleaned name, ending in an extension of its real type."""
    name = clean_name(name).replace('"', "").replace(";", "")
    extensions = EXTENSIONS.get(content_type, ())
    if extensions and not name.lower().endswith(extensions):
        name = f"{name}{extensions[0]}"
    return name


def content_disposition(name: str, *, inline: bool) -> str:
    """`attachment` (or `inline`) with an ASCII fallback name and the full name in RFC 5987 form,
    so non-ASCII names survive and nothing in a name can break out of the header."""
    from urllib.parse import quote

    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "._- ()") else "_" for c in name)[:150]
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback or 'file'}\"; filename*=UTF-8''{quote(name, safe='')}"


def kind_words(content_type: str) -> str:
    return KIND_WORDS.get(content_type, "File")
