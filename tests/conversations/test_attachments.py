"""Files in a conversation: checked by their bytes before anything is kept, pictures given a
thumbnail made by the server (upright, small, without the original's metadata), every refusal
clear and leaving nothing behind, and the message's hash covering the files."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import struct
import zipfile
import zlib

import pytest
from litestar.datastructures import UploadFile
from PIL import Image
from sqlalchemy import func, select

from app.conversations import attachments
from app.conversations import services as conversations
from app.conversations.attachments import DOCX, checked_files, content_disposition, download_name
from app.conversations.models import MessageAttachment
from app.files.models import FilePurpose, StoredFile
from app.files.storage import storage_for
from app.files.uploads import GIF, JPEG, PDF, TEXT, ZIP, CheckedUpload, UploadRejected, size_words
from tests.conversations.helpers import contract_conversation, say

PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def upload(name: str, data: bytes, content_type: str = "application/octet-stream") -> UploadFile:
    return UploadFile(content_type=content_type, filename=name, file_data=data)


def photo(width: int, height: int, *, orientation: int = 1, mode: str = "RGB", fmt: str = "JPEG") -> bytes:
    """A picture with EXIF (orientation, camera make, a GPS latitude) like a phone's."""
    picture = Image.new(mode, (width, height), (200, 40, 40) if mode == "RGB" else None)
    # The top-left quarter is blue: after turning the picture upright it must end up top-right.
    picture.paste((20, 40, 220) if mode == "RGB" else 0, (0, 0, width // 2, height // 2))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(0x8825)[2] = (52.0, 31.0, 12.0)  # GPSLatitude
    out = io.BytesIO()
    picture.save(out, fmt, exif=exif.tobytes())
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A few hundred bytes of PNG whose header claims width × height pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 4096))
        + chunk(b"IEND", b"")
    )


def zip_of(names: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in names.items():
            archive.writestr(name, data)
    return out.getvalue()


async def counts(db, storage) -> tuple[int, int]:
    rows = await db.scalar(select(func.count()).select_from(StoredFile))
    return rows, len(storage.all_keys())


@pytest.fixture
def storage(settings):
    return storage_for(settings)


async def send_files(db, conversation, sender, files, storage, body: str = "Files attached"):
    return await say(db, conversation, sender, body, files=files, storage=storage)


# ---------------------------------------------------------------- pictures


async def test_a_photo_gets_an_upright_thumbnail_without_its_metadata(db, settings, storage, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    original = photo(1200, 600, orientation=6)  # shot sideways: people see it 600 wide, 1200 high
    files = await checked_files([upload("site visit.jpg", original, "image/jpeg")], settings)
    message = await send_files(db, conversation, client.user, files, storage)

    [attachment] = message.attachments
    assert (attachment.width, attachment.height) == (600, 1200)
    assert attachment.file.purpose == FilePurpose.message_attachment
    assert attachment.file.original_name == "site visit.jpg"
    # The original is kept byte for byte (its hash is part of the message's evidence).
    assert await storage.get(attachment.file.storage_key) == original
    assert attachment.file.sha256 == hashlib.sha256(original).hexdigest()

    thumb_row = attachment.thumbnail
    assert (thumb_row.purpose, thumb_row.content_type, thumb_row.owner_id) == (
        FilePurpose.message_thumbnail,
        JPEG,
        client.user.id,
    )
    thumb = Image.open(io.BytesIO(await storage.get(thumb_row.storage_key)))
    assert thumb.format == "JPEG" and thumb.size == (240, 480)
    assert attachment.thumbnail_file_id != attachment.file_id
    assert len(thumb.getexif()) == 0 and "exif" not in thumb.info
    assert b"PhoneMaker" not in await storage.get(thumb_row.storage_key)
    # Turned upright: the original's blue top-left corner is now at the top right.
    r, g, b = thumb.convert("RGB").getpixel((thumb.width - 10, 10))
    assert b > 150 and r < 100


async def test_a_small_transparent_png_keeps_its_size_on_white(db, settings, storage, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    picture = Image.new("RGBA", (120, 80), (0, 0, 0, 0))
    out = io.BytesIO()
    picture.save(out, "PNG")
    files = await checked_files(upload("logo.png", out.getvalue(), "image/png"), settings)
    message = await send_files(db, conversation, contractor.user, files, storage)
    [attachment] = message.attachments
    assert (attachment.width, attachment.height) == (120, 80)
    thumb = Image.open(io.BytesIO(await storage.get(attachment.thumbnail.storage_key)))
    assert thumb.size == (120, 80)
    assert thumb.convert("RGB").getpixel((5, 5)) == pytest.approx((255, 255, 255), abs=3)


async def test_webp_and_gif_pictures_get_thumbnails_too(db, settings, storage, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    chosen = [
        upload("a.webp", photo(960, 300, fmt="WEBP"), "image/webp"),
        upload("b.gif", photo(100, 1000, mode="P", fmt="GIF"), "image/gif"),
    ]
    message = await send_files(db, conversation, client.user, await checked_files(chosen, settings), storage)
    sizes = [(a.file.content_type, a.width, a.height) for a in message.attachments]
    assert sizes == [("image/webp", 960, 300), (GIF, 100, 1000)]
    thumbs = [Image.open(io.BytesIO(await storage.get(a.thumbnail.storage_key))).size for a in message.attachments]
    assert thumbs == [(480, 150), (48, 480)]


async def test_a_pdf_is_kept_as_sent_without_a_thumbnail(db, settings, storage, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    files = await checked_files([upload("report.pdf", PDF_BYTES, "application/pdf")], settings)
    message = await send_files(db, conversation, client.user, files, storage)
    [attachment] = message.attachments
    assert attachment.file.content_type == PDF
    assert (attachment.thumbnail_file_id, attachment.width, attachment.height) == (None, None, None)
    assert await storage.get(attachment.file.storage_key) == PDF_BYTES
    assert await db.scalar(select(func.count()).select_from(StoredFile)) == 1


async def test_the_message_hash_covers_its_files_in_order(db, settings, storage, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    notes = b"Opening hours: 8 to 18\n"
    files = await checked_files([upload("report.pdf", PDF_BYTES), upload("notes.txt", notes, "text/plain")], settings)
    message = await send_files(db, conversation, client.user, files, storage, body="Both files")
    expected = conversations.message_hash(
        "Both files", [hashlib.sha256(PDF_BYTES).hexdigest(), hashlib.sha256(notes).hexdigest()]
    )
    assert message.sha256 == expected
    assert message.sha256 != conversations.message_hash("Both files")
    assert [a.file.content_type for a in message.attachments] == [PDF, TEXT]
    assert [a.position for a in message.attachments] == [0, 1]


async def test_a_picture_sent_without_the_form_check_still_gets_its_thumbnail(
    db, settings, storage, client, contractor
):
    _, conversation = await contract_conversation(db, client, contractor)
    data = photo(800, 400)
    plain = CheckedUpload(data, JPEG, hashlib.sha256(data).hexdigest(), "plan.jpg")
    message = await send_files(db, conversation, client.user, [plain], storage)
    [attachment] = message.attachments
    assert (attachment.width, attachment.height) == (800, 400)
    assert attachment.thumbnail is not None


# ---------------------------------------------------------------- Office files and other ZIPs


async def test_office_files_are_told_apart_from_zip_files_by_their_parts(settings):
    docx = zip_of({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
    with_macros = zip_of(
        {"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<d/>", "word/vbaProject.bin": b"\x00"}
    )
    archive = zip_of({"logo/final.svg": b"<svg/>"})
    files = await checked_files(
        [upload("offer.docx", docx), upload("offer.docx", with_macros), upload("logo.zip", archive)], settings
    )
    assert [f.content_type for f in files] == [DOCX, ZIP, ZIP]
    # A document with macros is saved as a ZIP, so it never opens in an office program by a double click.
    assert download_name(files[1].name, files[1].content_type) == "offer.docx.zip"
    assert download_name(files[0].name, files[0].content_type) == "offer.docx"


async def test_a_damaged_zip_is_refused(settings):
    with pytest.raises(UploadRejected, match="ZIP file is damaged"):
        await checked_files([upload("files.zip", b"PK\x03\x04" + b"\x00" * 200)], settings)


# ---------------------------------------------------------------- refusals leave nothing behind


@pytest.mark.parametrize(
    ("name", "data", "claimed"),
    [
        ("holiday.png", b"<!doctype html><script>alert(document.cookie)</script>", "image/png"),
        ("notes.txt", b"\xef\xbb\xbf\n  <svg onload=alert(1)>", "text/plain"),
        (
            "invoice.pdf",
            b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64,
            "application/pdf",
        ),
        ("notes.txt", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 64, "text/plain"),
    ],
)
async def test_a_disguised_file_is_refused_and_nothing_is_kept(db, settings, storage, client, contractor, name, data,
                                                                claimed):  # fmt: skip
    _, conversation = await contract_conversation(db, client, contractor)
    before = await counts(db, storage)
    with pytest.raises(UploadRejected) as refused:
        await checked_files([upload("fine.pdf", PDF_BYTES), upload(name, data, claimed)], settings)
    assert f"{name}: This file is " in str(refused.value)
    assert "whatever its name says" in str(refused.value)
    assert "fine.pdf" not in str(refused.value)
    assert await counts(db, storage) == before
    assert await db.scalar(select(func.count()).select_from(MessageAttachment)) == 0


async def test_an_empty_file_is_refused(db, settings, storage):
    before = await counts(db, storage)
    with pytest.raises(UploadRejected, match="empty.txt: This file is empty"):
        await checked_files([upload("empty.txt", b"", "text/plain")], settings)
    assert await counts(db, storage) == before


async def test_a_file_over_the_configured_limit_is_refused(db, settings, storage):
    small = dataclasses.replace(settings, message_file_max_mb=1)
    before = await counts(db, storage)
    exactly = await checked_files([upload("limit.txt", b"a" * (1024 * 1024), "text/plain")], small)
    assert exactly[0].size == 1024 * 1024
    with pytest.raises(UploadRejected, match="big.txt: This file is larger than 1 MB"):
        await checked_files([upload("big.txt", b"a" * (1024 * 1024 + 1), "text/plain")], small)
    assert await counts(db, storage) == before


async def test_more_than_five_files_are_refused(settings):
    with pytest.raises(UploadRejected, match="at most 5 files"):
        await checked_files([upload(f"{i}.pdf", PDF_BYTES) for i in range(6)], settings)
    assert len(await checked_files([upload(f"{i}.pdf", PDF_BYTES) for i in range(5)], settings)) == 5


async def test_no_file_chosen_is_no_file(settings):
    empty_part = UploadFile(content_type="application/octet-stream", filename="", file_data=b"")
    assert await checked_files(None, settings) == []
    assert await checked_files(empty_part, settings) == []
    assert await checked_files(["text", empty_part], settings) == []


@pytest.mark.parametrize(
    ("width", "height"),
    [(10_000, 10_000), (40_000, 40_000)],  # above our limit; above Pillow's own bomb limit as well
)
async def test_a_decompression_bomb_is_refused_cleanly(db, settings, storage, width, height):
    before = await counts(db, storage)
    bomb = png_claiming(width, height)
    assert len(bomb) < 1000
    with pytest.raises(UploadRejected, match="megapixels"):
        await checked_files([upload("huge.png", bomb, "image/png")], settings)
    assert await counts(db, storage) == before


async def test_a_damaged_picture_is_refused_and_nothing_is_kept(db, settings, storage, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    # Starts like a JPEG, but nothing after the first bytes is a picture.
    damaged = b"\xff\xd8\xff\xe0" + b"\x00" * 50 + b"not a picture at all" * 20
    with pytest.raises(UploadRejected, match="This picture cannot be read"):
        await checked_files([upload("broken.jpg", damaged, "image/jpeg")], settings)
    # Through the verb directly (a caller that skipped the form check): refused before any byte is written.
    before = await counts(db, storage)
    plain = CheckedUpload(damaged, JPEG, hashlib.sha256(damaged).hexdigest(), "broken.jpg")
    pdf = CheckedUpload(PDF_BYTES, PDF, hashlib.sha256(PDF_BYTES).hexdigest(), "a.pdf")
    with pytest.raises(UploadRejected):
        await conversations.send(db, conversation, client.user, "x", client_key="k1", files=[pdf, plain],
                                 storage=storage)  # fmt: skip
    await db.rollback()
    assert await counts(db, storage) == before


# ---------------------------------------------------------------- names


async def test_text_that_mentions_tags_later_is_still_text(settings):
    [notes] = await checked_files([upload("notes.txt", b"Use <b> for bold.\n", "text/plain")], settings)
    assert notes.content_type == TEXT


def test_names_are_cleaned_and_end_in_their_real_type():
    assert attachments.clean_name('../../etc/pa"ss\r\nwd\x00.txt') == 'pa"sswd.txt'
    assert attachments.clean_name("\u202eexe.pdf") == "exe.pdf"
    assert attachments.clean_name("   ") == "file"
    assert download_name('Quote "final"\r\n.pdf', PDF) == "Quote final.pdf"
    assert download_name("run.bat", TEXT) == "run.bat.txt"
    assert download_name("page.html", PDF) == "page.html.pdf"
    assert download_name("Photo.JPEG", JPEG) == "Photo.JPEG"
    assert download_name("Zoë – Entwurf.pdf", PDF) == "Zoë – Entwurf.pdf"


def test_the_content_disposition_keeps_non_ascii_names_and_nothing_breaks_out():
    header = content_disposition("Zoë – Entwurf.pdf", inline=False)
    assert header == "attachment; filename=\"Zo_ _ Entwurf.pdf\"; filename*=UTF-8''Zo%C3%AB%20%E2%80%93%20Entwurf.pdf"
    assert content_disposition("a.png", inline=True).startswith("inline; ")


def test_sizes_in_plain_words():
    assert [size_words(n) for n in (1, 820, 14 * 1024, int(2.4 * 1024 * 1024), 20 * 1024 * 1024)] == [
        "1 byte",
        "820 bytes",
        "14 KB",
        "2.4 MB",
        "20 MB",
    ]


def test_the_send_route_body_limit_allows_five_files_of_the_limit():
    assert attachments.send_body_limit(20) == 5 * 20 * 1024 * 1024 + 64 * 1024
