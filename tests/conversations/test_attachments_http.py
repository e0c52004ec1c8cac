"""A conversation's files over HTTP: downloads for the two parties only, with headers that keep
every file inert; uploads through the composer (`POST /messages/<id>`, fields `body`,
`client_key`, `_csrf_token`, files in `files`) refused next to the field with nothing kept."""

from __future__ import annotations

import hashlib
import io
import re
import secrets
from types import SimpleNamespace

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.conversations.attachments import SEND_BODY_LIMIT, limit_words
from app.conversations.models import Message, MessageAttachment
from app.files.models import StoredFile
from app.files.storage import storage_for
from app.files.uploads import JPEG, PDF, TEXT, CheckedUpload
from tests.conversations.helpers import contract_conversation, say

PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def jpeg(width: int = 900, height: int = 600) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 90)).save(out, "JPEG")
    return out.getvalue()


def checked(data: bytes, content_type: str, name: str) -> CheckedUpload:
    return CheckedUpload(data, content_type, hashlib.sha256(data).hexdigest(), name)


async def sent_with(app, db, client, contractor, *files: CheckedUpload):
    """The client sends `files` in the conversation of an active contract with the contractor."""
    _, conversation = await contract_conversation(db, client, contractor)
    storage = storage_for(app.state.settings)
    message = await say(db, conversation, client.user, "Here they are", files=list(files), storage=storage)
    return conversation, message


def file_url(conversation, attachment, thumb: bool = False) -> str:
    return f"/messages/{conversation.public_id}/files/{attachment.public_id}" + ("/thumb" if thumb else "")


# ---------------------------------------------------------------- downloads


async def test_both_parties_download_a_pdf_as_an_attachment(app, db, client, contractor):
    conversation, message = await sent_with(app, db, client, contractor, checked(PDF_BYTES, PDF, "report.pdf"))
    [attachment] = message.attachments
    for party in (client, contractor):
        response = await party.get(file_url(conversation, attachment))
        assert response.status_code == 200
        assert response.content == PDF_BYTES
        assert response.headers["content-type"] == "application/pdf"
        assert response.headers["content-disposition"] == (
            "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
        )
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"].startswith("private")
        assert "sandbox" in response.headers["content-security-policy"]
    # A PDF has no thumbnail.
    assert (await client.get(file_url(conversation, attachment, thumb=True))).status_code == 404


async def test_a_picture_shows_inline_and_its_thumbnail_is_a_small_jpeg(app, db, client, contractor):
    original = jpeg()
    conversation, message = await sent_with(app, db, client, contractor, checked(original, JPEG, "kitchen.jpg"))
    [attachment] = message.attachments
    full = await contractor.get(file_url(conversation, attachment))
    assert full.status_code == 200 and full.content == original
    assert full.headers["content-type"] == "image/jpeg"
    assert full.headers["content-disposition"].startswith('inline; filename="kitchen.jpg"')
    thumb = await contractor.get(file_url(conversation, attachment, thumb=True))
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(thumb.content)).size == (480, 320)
    assert thumb.headers["content-disposition"].startswith('inline; filename="kitchen (small).jpg"')
    assert thumb.headers["x-content-type-options"] == "nosniff"
    assert thumb.headers["cache-control"].startswith("private")


async def test_text_is_saved_not_shown_and_keeps_a_harmless_name(app, db, client, contractor):
    notes = b"Opening hours: 8 to 18\n"
    conversation, message = await sent_with(app, db, client, contractor, checked(notes, TEXT, "setup.bat"))
    [attachment] = message.attachments
    response = await client.get(file_url(conversation, attachment))
    assert response.content == notes
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="setup.bat.txt"')


async def test_a_name_with_quotes_line_breaks_and_accents_cannot_break_the_header(app, db, client, contractor):
    name = 'Zoë "final"\r\nSet-Cookie: x=1 – Entwurf.pdf'
    conversation, message = await sent_with(app, db, client, contractor, checked(PDF_BYTES, PDF, name))
    [attachment] = message.attachments
    assert attachment.file.original_name == 'Zoë "final"Set-Cookie: x=1 – Entwurf.pdf'
    response = await contractor.get(file_url(conversation, attachment))
    assert response.status_code == 200
    assert "x=1" not in response.headers.get("set-cookie", "")
    disposition = response.headers["content-disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    assert disposition == (
        'attachment; filename="Zo_ finalSet-Cookie_ x_1 _ Entwurf.pdf"; '
        "filename*=UTF-8''Zo%C3%AB%20finalSet-Cookie%3A%20x%3D1%20%E2%80%93%20Entwurf.pdf"
    )


async def test_nobody_else_gets_the_files(app, db, client, contractor, other_contractor, admin, anonymous):
    conversation, message = await sent_with(app, db, client, contractor, checked(jpeg(), JPEG, "plan.jpg"))
    [attachment] = message.attachments
    for url in (file_url(conversation, attachment), file_url(conversation, attachment, thumb=True)):
        assert (await other_contractor.get(url)).status_code == 404
        assert (await admin.get(url)).status_code == 404
        visitor = await anonymous.get(url)
        assert visitor.status_code in (302, 303)
        assert visitor.headers["location"].startswith("/login?next=")
        # Admins and strangers see nothing of the file either way.
        assert b"\xff\xd8" not in (await admin.get(url)).content


async def test_a_file_is_found_only_under_its_own_conversation(app, db, client, contractor):
    conversation, message = await sent_with(app, db, client, contractor, checked(PDF_BYTES, PDF, "a.pdf"))
    [attachment] = message.attachments
    other, _ = await sent_with(app, db, client, contractor, checked(PDF_BYTES, PDF, "b.pdf"))
    # Both are the client's conversations, but the file belongs to the first one only.
    assert (await client.get(f"/messages/{other.public_id}/files/{attachment.public_id}")).status_code == 404
    assert (await client.get(f"/messages/{conversation.public_id}/files/att_{'x' * 24}")).status_code == 404
    assert (await client.get(f"/messages/{conversation.public_id}/files/{'a' * 500}")).status_code == 404


# ---------------------------------------------------------------- what the page shows


def render(app, template: str, **context) -> str:
    request = SimpleNamespace(app=app)  # what url_for and the settings are read from
    return app.template_engine.get_template(template).render(request=request, **context)


async def test_a_message_shows_its_picture_and_its_file_in_plain_words(app, db, client, contractor):
    pdf = b"%PDF-1.4\n" + b"0" * int(2.4 * 1024 * 1024)
    conversation, message = await sent_with(
        app,
        db,
        client,
        contractor,
        checked(jpeg(1200, 800), JPEG, "<img src=x onerror=alert(1)>.jpg"),
        checked(pdf, PDF, "report.pdf"),
    )
    html = render(app, "messages/_attachments.html", message=message, conversation=conversation)
    picture, document = message.attachments
    assert f'href="{file_url(conversation, picture)}"' in html
    assert f'src="{file_url(conversation, picture, thumb=True)}"' in html
    assert 'alt="&lt;img src=x onerror=alert(1)&gt;.jpg"' in html and "onerror=alert(1)>" not in html
    assert 'width="480"' in html and 'height="320"' in html
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))
    assert "report.pdf · PDF · 2.4 MB" in text
    assert f'href="{file_url(conversation, document)}"' in html
    assert "style=" not in html and "<script" not in html


async def test_the_kinds_and_sizes_on_the_page_match_the_checks(app, db, client, contractor):
    from app.conversations.attachments import KIND_WORDS
    from app.files.uploads import size_words

    conversation, message = await sent_with(app, db, client, contractor, checked(PDF_BYTES, PDF, "x.pdf"))
    [attachment] = message.attachments
    for kind, words in KIND_WORDS.items():
        for size in (1, 900, 14 * 1024, 1024 * 1024, int(2.45 * 1024 * 1024), 20 * 1024 * 1024):
            attachment.file.content_type, attachment.file.size = kind, size
            html = render(app, "messages/_attachments.html", message=message, conversation=conversation)
            assert f" · {words} · {size_words(size)}<" in html.replace("\n", ""), (kind, size)
    await db.rollback()


async def test_the_file_field_has_a_label_a_hint_with_the_limit_and_a_hidden_progress(app):
    html = render(app, "messages/_file_input.html", errors={"files": ["a.png: This file is empty."]})
    assert '<label class="field__label" for="composer-files">Attach files</label>' in html
    assert 'type="file" id="composer-files" name="files" multiple' in html
    assert limit_words(app.state.settings) in html
    assert "a.png: This file is empty." in html and 'aria-invalid="true"' in html
    assert re.search(r'<div class="upload-progress" hidden>\s*<progress', html)
    assert 'aria-live="polite"' in html
    assert "style=" not in html and "<script" not in html


# ---------------------------------------------------------------- uploads through the composer


async def post_message(party, conversation, files, body: str = "See attached"):
    data = {"body": body, "client_key": secrets.token_urlsafe(16), "_csrf_token": await party.csrf_token()}
    return await party.post(conversation.path, data=data, files=files)


async def kept(db) -> tuple[int, int, int]:
    return (
        await db.scalar(select(func.count()).select_from(StoredFile)),
        await db.scalar(select(func.count()).select_from(Message)),
        await db.scalar(select(func.count()).select_from(MessageAttachment)),
    )


async def test_files_sent_with_the_composer_are_kept_with_their_thumbnail(app, db, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    files = [("files", ("plan.jpg", jpeg(), "image/jpeg")), ("files", ("quote.pdf", PDF_BYTES, "application/pdf"))]
    response = await post_message(client, conversation, files)
    assert response.status_code == 303, response.text[:500]
    message = await db.scalar(select(Message).where(Message.conversation_id == conversation.id))
    await db.refresh(message, attribute_names=["attachments"])
    assert [a.file.original_name for a in message.attachments] == ["plan.jpg", "quote.pdf"]
    assert message.attachments[0].thumbnail is not None and message.attachments[1].thumbnail is None
    page = await contractor.get(conversation.path)
    assert file_url(conversation, message.attachments[1]) in page.text
    assert "quote.pdf · PDF" in re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page.text))


@pytest.mark.parametrize(
    ("name", "data", "claimed", "says"),
    [
        ("photo.png", b"<html><script>alert(1)</script></html>", "image/png", "whatever its name says"),
        ("invoice.pdf", b"MZ\x90\x00" + b"\x00" * 100, "application/pdf", "whatever its name says"),
        ("empty.pdf", b"", "application/pdf", "This file is empty"),
    ],
)
async def test_a_bad_file_is_refused_next_to_the_field_and_nothing_is_kept(app, db, client, contractor,
                                                                           name, data, claimed, says):  # fmt: skip
    _, conversation = await contract_conversation(db, client, contractor)
    before = await kept(db)
    keys = storage_for(app.state.settings).all_keys()
    response = await post_message(client, conversation, [("files", (name, data, claimed))])
    assert response.status_code == 422
    assert says in response.text and name in response.text
    assert 'id="composer-files-error"' in response.text
    assert await kept(db) == before
    assert storage_for(app.state.settings).all_keys() == keys


async def test_a_file_over_the_limit_is_refused_next_to_the_field(app, db, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    before = await kept(db)
    limit = app.state.settings.message_file_max_mb * 1024 * 1024
    big = [("files", ("big.txt", b"a" * (limit + 1), "text/plain"))]
    response = await post_message(client, conversation, big)
    assert response.status_code == 422
    assert f"larger than {app.state.settings.message_file_max_mb} MB" in response.text
    assert await kept(db) == before


async def test_a_body_over_the_route_limit_gets_a_clear_413(app, db, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    boundary = "pactline-boundary"

    async def endless():
        yield f"--{boundary}\r\n".encode()
        while True:
            yield b"a" * 65536

    headers = {
        "content-type": f"multipart/form-data; boundary={boundary}",
        "content-length": str(SEND_BODY_LIMIT + 1),
        "x-csrftoken": await client.csrf_token(),
    }
    response = await client.post(conversation.path, content=endless(), headers=headers)
    assert response.status_code == 413
    assert "too large" in response.text and "100 MB" in response.text
    assert await db.scalar(select(func.count()).select_from(Message)) == 0


async def test_someone_outside_cannot_post_files_into_it(app, db, client, contractor, other_contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    before = await kept(db)
    response = await post_message(other_contractor, conversation, [("files", ("a.pdf", PDF_BYTES, "application/pdf"))])
    assert response.status_code == 404
    assert await kept(db) == before
