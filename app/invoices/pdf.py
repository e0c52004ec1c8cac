"""A receipt's or an invoice's PDF: templates/pdf/invoice.html, rendered like the contract PDF
(app/contracts/documents/pdf.py: the same bundled fonts and pdf.css, nothing else loaded), from
what the document row froze when it was issued. Stored once, on the first download, in the
private storage; every later download serves those bytes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import anyio
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.contracts.documents.pdf import RenderedPdf, pdf_environment, render_html_sync
from app.files.storage import new_key, storage_for
from app.invoices.models import DocumentKind, Invoice

VAT_NOT_CHARGED = "Not charged"
REVERSE_CHARGE = (
    "Issuer and recipient are both identified for VAT in different countries: any VAT due on this "
    "supply is accounted for by the recipient (reverse charge)."
)


def _w3c(value: datetime) -> str:
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _reverse_charge(invoice: Invoice) -> bool:
    """An invoice for a supply (not a receipt for money held in escrow) whose two sides both print
    a VAT ID, with countries known and different. Only then is the reverse-charge sentence
    printed; no document ever states a VAT amount (decision 0040)."""
    if invoice.kind == DocumentKind.receipt:
        return False
    issuer, recipient = invoice.issuer or {}, invoice.recipient or {}
    countries = issuer.get("country"), recipient.get("country")
    return bool(issuer.get("vat_id") and recipient.get("vat_id") and all(countries) and countries[0] != countries[1])


def invoice_context(invoice: Invoice) -> dict[str, Any]:
    kind = DocumentKind(invoice.kind)
    recipient = dict(invoice.recipient or {})
    contract = recipient.pop("contract", None) or {}
    return {
        "invoice": invoice,
        "kind": kind.value,
        "title": invoice.title,
        "issuer": invoice.issuer or {},
        "recipient": recipient,
        "contract": contract,
        "lines": invoice.lines or [],
        "issued_w3c": _w3c(invoice.issued_at),
        "vat": VAT_NOT_CHARGED,
        "reverse_charge": REVERSE_CHARGE if _reverse_charge(invoice) else "",
    }


def invoice_html(invoice: Invoice) -> str:
    return pdf_environment().get_template("pdf/invoice.html").render(invoice_context(invoice))


def render_invoice_sync(invoice: Invoice) -> RenderedPdf:
    return render_html_sync(invoice_html(invoice))


async def render_invoice(invoice: Invoice) -> RenderedPdf:
    """In a worker thread: a rendering takes a good part of a second and would block the loop."""
    html = invoice_html(invoice)
    return await anyio.to_thread.run_sync(render_html_sync, html)


async def stored_pdf(db: AsyncSession, settings: Settings, invoice: Invoice) -> bytes:
    """The document's PDF: the stored bytes, or rendered and stored now (first download). Two
    first downloads at once both render; one stored copy wins (compare-and-set on the row), the
    other's file is deleted and the winner's bytes are served. The caller commits."""
    storage = storage_for(settings)
    if invoice.storage_key:
        return await storage.get(invoice.storage_key)
    if not (db.new or db.dirty or db.deleted):
        await db.commit()  # only reads so far: give the connection back while rendering
    rendered = await render_invoice(invoice)
    key = new_key("invoices")
    await storage.put(key, rendered.data)
    won = await db.scalar(
        update(Invoice)
        .where(Invoice.id == invoice.id, Invoice.storage_key.is_(None))
        .values(storage_key=key, sha256=rendered.sha256, size_bytes=rendered.size)
        .returning(Invoice.id)
    )
    if won is None:
        await storage.delete(key)
        await db.refresh(invoice)
        assert invoice.storage_key is not None
        return await storage.get(invoice.storage_key)
    await db.refresh(invoice)
    return rendered.data
