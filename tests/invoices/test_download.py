"""GET /invoices/<id>: the PDF for the document's two parties only. It is a real PDF with the
number, the amounts and the VAT ID on it; it is rendered once and the same bytes are served
afterwards; everyone else gets 404 (a visitor: sign in first); hostile ids are 404, never 5xx."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.companies import services as companies
from app.companies.forms import read_company
from app.files.storage import storage_for
from app.invoices.models import Invoice
from tests.conftest import persona
from tests.invoices.helpers import by_kind, documents, funded, pdf_text, released


async def download(web, invoice: Invoice):
    return await web.get(invoice.path)


async def test_the_receipt_is_a_pdf_with_its_number_amount_and_the_clients_vat_id(app, db, client, contractor):
    await companies.create_company(
        db, client.user, read_company({"name": "Clinic Physio GmbH", "country": "DE", "registration_number": "HRB 98765",
                                       "vat_id": "DE123456789", "address": "Hauptstraße 5, 10115 Berlin"})
    )  # fmt: skip
    await db.commit()
    contract, _, _ = await funded(db, client.user, contractor.user)
    (receipt,) = await documents(db)
    vat_id = receipt.recipient["vat_id"]

    answer = await download(client, receipt)

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"] == f'attachment; filename="{receipt.number}.pdf"'
    assert answer.content.startswith(b"%PDF-")
    text = pdf_text(answer.content)
    for shown in ("Receipt", receipt.number, "Paid into escrow", "Clinic Physio GmbH", "HRB 98765", vat_id,
                  contract.public_id, "€1,000.00", "Design", "VAT: not charged"):  # fmt: skip
        assert shown in text, f"{shown!r} is not on the receipt"
    assert "reverse charge" not in text  # Pactline prints no VAT ID of its own unless configured


async def test_the_first_download_stores_the_pdf_and_later_ones_serve_the_same_bytes(app, db, client, contractor):
    await funded(db, client.user, contractor.user)
    (receipt,) = await documents(db)
    assert receipt.storage_key is None

    first = await download(client, receipt)
    (stored,) = await documents(db)
    assert stored.storage_key and stored.size_bytes == len(first.content)
    assert stored.sha256 == hashlib.sha256(first.content).hexdigest()
    assert await storage_for(app.state.settings).get(stored.storage_key) == first.content

    second = await download(client, receipt)
    assert second.status_code == 200 and second.content == first.content
    (again,) = await documents(db)
    assert again.storage_key == stored.storage_key  # not rendered or stored a second time


async def test_two_first_downloads_at_once_keep_one_stored_copy(app, db, client, contractor):
    import asyncio

    await funded(db, client.user, contractor.user)
    (receipt,) = await documents(db)
    storage = storage_for(app.state.settings)
    before = set(storage.all_keys())
    one, two = await asyncio.gather(download(client, receipt), download(client, receipt))
    assert one.status_code == two.status_code == 200 and one.content == two.content
    (stored,) = await documents(db)
    assert sorted(set(storage.all_keys()) - before) == [stored.storage_key]  # the loser's file is gone


async def test_the_release_documents_name_who_issued_them_and_add_up(app, db, client, contractor):
    contract, _ = await released(db, client.user, contractor.user)
    docs = by_kind(await documents(db))
    invoice, fee = docs["contractor_invoice"], docs["fee_invoice"]

    text = pdf_text((await download(client, invoice)).content)
    assert "Invoice" in text and invoice.number in text and "€1,000.00" in text
    assert f"Issued by Pactline on behalf of {contractor.user.name}" in text
    assert (await download(contractor, invoice)).status_code == 200  # the issuer may download it too

    fee_text = pdf_text((await download(contractor, fee)).content)
    assert "Fee invoice" in fee_text and fee.number in fee_text and "€100.00" in fee_text
    assert (await download(client, fee)).status_code == 404  # the client is no party to the fee invoice


async def test_pactlines_details_and_a_reverse_charge_note_only_on_invoices_between_two_vat_ids(db, client, contractor):
    """PLATFORM_* settings print Pactline's address and VAT ID. The reverse-charge sentence is printed
    on an invoice whose two sides have VAT IDs in different countries, never on a receipt, and no
    document states a VAT amount."""
    import dataclasses

    from app.config import get_settings
    from app.invoices.pdf import REVERSE_CHARGE, invoice_html
    from app.invoices.services import platform_party

    await released(db, client.user, contractor.user)
    docs = by_kind(await documents(db))
    configured = dataclasses.replace(get_settings(), platform_vat_id="IE1234567T", platform_country="IE",
                                     platform_address="1 Quay Street\nDublin")  # fmt: skip
    fee, receipt = docs["fee_invoice"], docs["receipt"]
    fee.issuer = receipt.issuer = platform_party(configured)
    assert "IE1234567T" in invoice_html(fee) and "Dublin" in invoice_html(fee)
    assert REVERSE_CHARGE not in invoice_html(fee)  # the contractor has no VAT ID

    with_vat = {"vat_id": "PT123456789", "country": "PT"}
    fee.recipient = {**fee.recipient, **with_vat}
    receipt.recipient = {**receipt.recipient, **with_vat}
    assert REVERSE_CHARGE in invoice_html(fee)
    assert REVERSE_CHARGE not in invoice_html(receipt)
    fee.recipient = {**fee.recipient, "country": "IE"}
    assert REVERSE_CHARGE not in invoice_html(fee)  # same country: no reverse charge
    for html in (invoice_html(fee), invoice_html(receipt)):
        assert "VAT: not charged on this document." in html
    await db.rollback()  # the snapshots were changed in memory only


async def test_nobody_else_can_download_a_document(app, db, client, contractor, other_contractor, admin, anonymous):
    await released(db, client.user, contractor.user)
    docs = await documents(db)
    async with persona(app, db, Role.client, "other.client@example.test") as other_client:
        for doc in docs:
            for outsider in (other_client, other_contractor, admin):
                answer = await download(outsider, doc)
                assert answer.status_code == 404, (doc.kind, outsider.user.email, answer.status_code)
                assert doc.number not in answer.text
            visitor = await download(anonymous, doc)
            assert visitor.status_code in (302, 303) and visitor.headers["location"].startswith("/login")
    assert await db.scalar(select(func.count()).select_from(Invoice).where(Invoice.storage_key.is_not(None))) == 0


@pytest.mark.parametrize(
    "public_id",
    ["doc_%00abc", "doc_\u00e9t\u00e9", "%E2%80%AE", "doc_" + "a" * 8192, "doc_abc", "..%2F..%2Fetc%2Fpasswd", "%00"],
    ids=["nul", "non-ascii", "bidi", "8 KB", "unknown", "traversal", "nul-only"],
)
async def test_hostile_ids_are_not_found(client, public_id):
    answer = await client.get(f"/invoices/{public_id}")
    # A NUL byte anywhere in a request is turned away by the app's input guard (400) before any
    # route; everything else reaches the lookup and is a document that does not exist.
    assert answer.status_code == (400 if "%00" in public_id else 404), answer.status_code


async def test_an_id_of_a_megabyte_is_not_found_without_a_query(db, client):
    """No HTTP server takes a 1 MB URL (httpx refuses to send one); the lookup itself refuses it
    before asking the database."""
    from app.errors import NotFound
    from app.invoices.controllers import document_for

    for public_id in ("doc_" + "a" * 1_000_000, "doc_\x00" * 1000, "doc_ünïcödé"):
        with pytest.raises(NotFound):
            await document_for(db, public_id, client.user)
