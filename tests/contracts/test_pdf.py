"""The contract PDF: what it shows, that it renders to the same bytes twice, that /pdf stores
one rendering per version and kind, and that the worker renders the signed PDF and says so live."""

import asyncio
import hashlib
import io
import re

from pypdf import PdfReader
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.contracts.documents.pdf import render_pdf_sync
from app.contracts.documents.services import build_source
from app.contracts.models import ContractDocument
from app.events.models import OutboxEvent
from app.worker.registry import enqueue
from tests.contracts.helpers import active_contract, sent_contract
from tests.support.signals import refresh_url


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


async def documents(db):
    return (await db.scalars(select(ContractDocument).execution_options(populate_existing=True))).all()


async def test_signed_pdf_shows_terms_parties_hash_certificate_and_verify_url(app, db, client, contractor):
    contract, version = await active_contract(db, client.user, contractor.user)
    response = await client.get(f"/contracts/{contract.id}/pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == 'attachment; filename="booking-website-v1.pdf"'
    text = pdf_text(response.content)
    assert "Booking website" in text and "A five-page site with online booking" in text
    assert client.user.name in text and contractor.user.name in text
    assert version.terms_hash in text
    assert f"{app.state.settings.app_base_url}/verify/{contract.public_id}" in text
    assert "Page 1 of" in text
    assert "Draft — not signed" not in text
    # Milestone table with its total.
    assert "Design" in text and "Build" in text and "€3,000.00" in text
    # The certificate: signers with IP and browser, every audit event of the contract with its hash.
    certificate = text[text.index("Certificate of signature") :]
    assert "203.0.113.5" in certificate and "Test browser" in certificate
    events = (
        await db.scalars(select(AuditEvent).where(AuditEvent.subject_id == contract.public_id).order_by(AuditEvent.seq))
    ).all()
    assert [e.kind for e in events] == ["contract_drafted", "contract_version_sent", "contract_signed",
                                        "contract_signed", "contract_activated"]  # fmt: skip
    for event in events:
        assert event.hash in certificate
    assert re.search(r"Page (\d+) of \1\s*$", text)  # the certificate is on the last page


async def test_sent_version_downloads_as_a_draft_without_signatures(db, client, contractor):
    contract, version = await sent_contract(db, client.user, contractor.user)
    response = await contractor.get(f"/contracts/{contract.id}/pdf")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="booking-website-v1-draft.pdf"'
    text = pdf_text(response.content)
    assert "Draft — not signed" in text and "no signatures yet" in text
    assert version.terms_hash in text
    assert "203.0.113.5" not in text
    [document] = await documents(db)
    assert document.final is False and document.version_id == version.id


async def test_a_second_download_serves_the_stored_rendering(db, client, contractor, admin):
    contract, _ = await active_contract(db, client.user, contractor.user)
    first = await client.get(f"/contracts/{contract.id}/pdf")
    second = await contractor.get(f"/contracts/{contract.id}/pdf")
    third = await admin.get(f"/contracts/{contract.id}/pdf")
    assert first.content == second.content == third.content
    [document] = await documents(db)
    assert document.final is True and document.pages >= 2
    assert document.size_bytes == len(first.content)
    assert document.sha256 == hashlib.sha256(first.content).hexdigest()


async def test_concurrent_first_downloads_store_one_rendering(db, client, contractor):
    contract, _ = await sent_contract(db, client.user, contractor.user)
    answers = await asyncio.gather(*(c.get(f"/contracts/{contract.id}/pdf") for c in (client, contractor, client)))
    assert all(a.status_code == 200 for a in answers)
    assert len({a.content for a in answers}) == 1
    assert len(await documents(db)) == 1


async def test_rendering_is_deterministic(app, db, client, contractor):
    contract, version = await active_contract(db, client.user, contractor.user)
    source = await build_source(db, app.state.settings, contract, version, final=True)
    first, second = render_pdf_sync(source), render_pdf_sync(source)
    assert first.data == second.data and first.pages == second.pages
    reader = PdfReader(io.BytesIO(first.data))
    assert "/ID" not in reader.trailer  # no random file identifier
    assert reader.metadata["/ModDate"].startswith("D:" + source.issued_at.strftime("%Y%m%d%H%M%S"))
    fonts = {
        font["/BaseFont"].split("+")[-1]
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
        for font in [font.get_object()]
    }
    assert fonts <= {"Contract-Serif", "Contract-Serif-Bold", "Contract-Mono"}  # bundled fonts only


async def test_others_and_visitors_cannot_download(db, client, contractor, other_contractor, anonymous):
    contract, _ = await active_contract(db, client.user, contractor.user)
    for path in (f"/contracts/{contract.id}/pdf", f"/contracts/{contract.id}/proof"):
        assert (await other_contractor.get(path)).status_code == 404
        visitor = await anonymous.get(path)
        assert visitor.status_code in (302, 303) and visitor.headers["location"].startswith("/login")
    assert (await client.get("/contracts/999999/pdf")).status_code == 404
    assert await documents(db) == []  # refused before anything was rendered


async def test_no_pdf_before_the_first_version_is_sent(db, client, contractor):
    from app.contracts.drafting import services as drafting
    from tests.contracts.helpers import accepted_proposal

    proposal = await accepted_proposal(db, client.user, contractor.user)
    contract = await drafting.draft_from_proposal(db, proposal.id, client.user)
    await db.commit()
    assert (await client.get(f"/contracts/{contract.id}/pdf")).status_code == 404
    assert await documents(db) == []


async def wait_for_outbox(db, event: str, count: int) -> list[OutboxEvent]:
    rows: list[OutboxEvent] = []
    for _ in range(150):
        rows = list(
            (
                await db.scalars(
                    select(OutboxEvent).where(OutboxEvent.event == event).execution_options(populate_existing=True)
                )
            ).all()
        )
        if len(rows) >= count:
            break
        await asyncio.sleep(0.1)
    return rows


async def test_worker_renders_the_signed_pdf_once_and_tells_both_parties(app, db, client, contractor):
    contract, version = await active_contract(db, client.user, contractor.user)
    panel = await client.get(f"/contracts/{contract.id}")
    if panel.status_code == 200 and "contract-document" in panel.text:
        assert "Preparing the signed PDF" in panel.text
    # Activation wrote the rendering job in its transaction; the worker runs it after commit.
    rows = await wait_for_outbox(db, f"contract-{contract.id}-document", 2)
    assert {r.user_id for r in rows} == {client.user.id, contractor.user.id}
    assert all(r.data == '{"state":"ready"}' for r in rows)  # a signal, no HTML
    # Each party's open page re-fetches its panel on that signal and finds the download.
    for party in (client, contractor):
        page = await party.get(f"/contracts/{contract.id}")
        url = refresh_url(page.text, f"contract-{contract.id}-document")
        fresh = await party.htmx("GET", url)
        assert fresh.status_code == 200 and "Download the signed PDF" in fresh.text and "<html" not in fresh.text
        assert f"/contracts/{contract.id}/pdf" in fresh.text and refresh_url(fresh.text, rows[0].event) == url
    [document] = await documents(db)
    assert document.final and document.version_id == version.id and document.terms_hash == version.terms_hash

    # A second run for the same version does nothing: no new row, nobody told again.
    job = await enqueue(
        app.state.queue, "render_contract_pdf", contract_id=contract.id, version_id=version.id, final=True
    )
    await job.refresh(until_complete=30)
    assert job.result == {"document_id": document.id, "created": False, "sha256": document.sha256}
    assert len(await documents(db)) == 1
    assert len(await wait_for_outbox(db, f"contract-{contract.id}-document", 2)) == 2
    # The download is the stored rendering.
    response = await contractor.get(f"/contracts/{contract.id}/pdf")
    assert hashlib.sha256(response.content).hexdigest() == document.sha256
    assert len(await documents(db)) == 1


async def test_the_document_panel_is_for_the_parties_only(db, client, contractor, other_contractor):
    contract, _ = await active_contract(db, client.user, contractor.user)
    for party in (client, contractor):
        panel = await party.htmx("GET", f"/contracts/{contract.id}/document")
        assert panel.status_code == 200 and 'id="contract-document"' in panel.text
    assert (await other_contractor.htmx("GET", f"/contracts/{contract.id}/document")).status_code == 404
    assert (await other_contractor.htmx("GET", f"/contracts/{contract.id + 1000}/document")).status_code == 404
