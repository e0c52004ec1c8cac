"""The public verification page: names, state, the signed hash and whether the history checks
out — never the terms, amounts, addresses or browsers — and the upload check."""

import io
import re

from pypdf import PdfWriter
from sqlalchemy import select, text

from app.audit.models import AuditEvent
from tests.contracts.helpers import active_contract, sent_contract

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def upload(pdf: bytes, name: str = "contract.pdf", content_type: str = "application/pdf") -> dict:
    return {"document": (name, pdf, content_type)}


def edited(pdf: bytes) -> bytes:
    """The same PDF after someone edited it: still a valid PDF, different bytes."""
    writer = PdfWriter(clone_from=io.BytesIO(pdf))
    writer.add_metadata({"/Title": "Booking website (amended by hand)"})
    out = io.BytesIO()
    writer.write(out)
    assert out.getvalue().startswith(b"%PDF-") and out.getvalue() != pdf
    return out.getvalue()


async def check(visitor, public_id: str, files: dict, **kwargs):
    data = {"_csrf_token": await visitor.csrf_token()}
    return await visitor.post(f"/verify/{public_id}/check", data=data, files=files, **kwargs)


async def test_anyone_sees_names_state_and_hash_but_no_terms(db, client, contractor, anonymous):
    contract, version = await active_contract(db, client.user, contractor.user)
    page = await anonymous.get(f"/verify/{contract.public_id}")
    assert page.status_code == 200
    assert client.user.name in page.text and contractor.user.name in page.text
    assert "Signed by both parties and in force" in page.text
    assert "Version 1" in page.text and version.terms_hash in page.text
    assert page.text.count(" signed <time") == 2  # both signature times
    assert "Intact" in page.text and "5 recorded events" in page.text
    # Nothing private: no scope, milestones, amounts, addresses, browsers or e-mail.
    for private in ("five-page site", "Design", "3,000", "1,000", "€", "203.0.113.5", "Test browser",
                    client.user.email, contractor.user.email):  # fmt: skip
        assert private not in page.text, private
    assert '<meta name="robots" content="noindex">' in page.text


async def test_unknown_reference_is_404(anonymous):
    assert (await anonymous.get("/verify/not-a-contract")).status_code == 404
    assert (await check(anonymous, "not-a-contract", upload(b"%PDF-1.7 x"))).status_code == 404


async def test_a_sent_contract_is_shown_as_not_signed(db, client, contractor, anonymous):
    contract, version = await sent_contract(db, client.user, contractor.user)
    page = await anonymous.get(f"/verify/{contract.public_id}")
    assert "Sent for signature" in page.text and "Latest version sent" in page.text
    assert "None yet on version 1" in page.text


async def test_the_genuine_signed_pdf_is_recognised_and_a_changed_one_is_not(db, client, contractor, anonymous):
    contract, _ = await active_contract(db, client.user, contractor.user)
    pdf = (await client.get(f"/contracts/{contract.id}/pdf")).content

    genuine = await check(anonymous, contract.public_id, upload(pdf))
    assert genuine.status_code == 200
    assert "Genuine: this is the signed PDF of version 1." in genuine.text

    changed = edited(pdf)
    mismatch = await check(anonymous, contract.public_id, upload(changed))
    assert mismatch.status_code == 200
    assert "This file does not match any signed PDF of this contract." in mismatch.text
    assert "Genuine" not in mismatch.text


async def test_a_draft_pdf_is_not_called_signed(db, client, contractor, anonymous):
    contract, _ = await sent_contract(db, client.user, contractor.user)
    draft = (await contractor.get(f"/contracts/{contract.id}/pdf")).content
    answer = await check(anonymous, contract.public_id, upload(draft))
    assert answer.status_code == 200
    assert "unsigned draft of version 1, not a signed contract" in answer.text
    assert "Genuine" not in answer.text


async def test_a_file_that_is_not_a_pdf_is_refused_next_to_the_field(db, client, contractor, anonymous):
    contract, _ = await active_contract(db, client.user, contractor.user)
    answer = await check(anonymous, contract.public_id, upload(PNG, "contract.pdf"))
    assert answer.status_code == 422
    error = re.search(r'<ul class="field__errors" id="field-document-[0-9a-f]+-error">(.*?)</ul>', answer.text, re.S)
    assert error and "This file is not a PDF file, whatever its name says." in error.group(1)
    nothing = await check(anonymous, contract.public_id, {"document": ("", b"", "application/pdf")})
    assert nothing.status_code == 422 and "Choose the PDF file you want to check." in nothing.text


async def test_with_htmx_only_the_check_block_comes_back(db, client, contractor, anonymous):
    contract, _ = await active_contract(db, client.user, contractor.user)
    pdf = (await client.get(f"/contracts/{contract.id}/pdf")).content
    answer = await check(anonymous, contract.public_id, upload(pdf), headers={"HX-Request": "true"})
    assert answer.status_code == 200
    assert answer.text.lstrip().startswith('<section id="verify-check"')
    assert "<html" not in answer.text and "Genuine" in answer.text


async def test_the_upload_needs_the_csrf_token(db, client, contractor, anonymous):
    contract, _ = await active_contract(db, client.user, contractor.user)
    await anonymous.csrf_token()  # has the cookie, but does not send the token
    answer = await anonymous.post(f"/verify/{contract.public_id}/check", files=upload(b"%PDF-1.7 x"))
    assert answer.status_code == 403


async def test_uploads_are_rate_limited_per_address(db, client, contractor, anonymous):
    contract, _ = await active_contract(db, client.user, contractor.user)
    for _ in range(30):
        assert (await check(anonymous, contract.public_id, upload(b"%PDF-1.7 x"))).status_code == 200
    refused = await check(anonymous, contract.public_id, upload(b"%PDF-1.7 x"))
    assert refused.status_code == 429 and "Too many checks from your network" in refused.text
    assert int(refused.headers["retry-after"]) > 0


async def test_a_changed_audit_event_shows_as_broken(app, db, client, contractor, anonymous):
    contract, _ = await active_contract(db, client.user, contractor.user)
    signed = await db.scalar(
        select(AuditEvent.seq).where(AuditEvent.subject_id == contract.public_id, AuditEvent.kind == "contract_signed")
    )
    async with app.state.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
        await conn.execute(text("UPDATE audit_events SET data = '{\"version\": 2}' WHERE seq = :seq"), {"seq": signed})
        await conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))
    page = await anonymous.get(f"/verify/{contract.public_id}")
    assert "Broken" in page.text and f"Event #{signed} does not check out" in page.text
    assert "Intact" not in page.text
