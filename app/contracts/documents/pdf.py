"""Contract PDFs: one version's terms and a certificate page, rendered by WeasyPrint from
templates/pdf/ with the bundled fonts only, so the same inputs always give the same bytes."""

from __future__ import annotations

import base64
import hashlib
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import anyio
import qrcode
import qrcode.image.svg
from jinja2 import Environment
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from app.config import ROOT
from app.contracts.terms import Terms
from app.money import format_minor
from app.web.templating import TEMPLATES, make_environment

PDF_TEMPLATES = TEMPLATES / "pdf"
STYLESHEET = PDF_TEMPLATES / "pdf.css"
FONTS = ROOT / "static" / "fonts"

KIND_LABELS = {"milestone": "Fixed price, paid per milestone", "retainer": "Retainer (recurring payment)"}
PERIOD_LABELS = {"month": "month", "week": "week"}


@dataclass(frozen=True)
class PartyLine:
    role: str  # "Client" or "Contractor"
    name: str
    company: str | None = None


@dataclass(frozen=True)
class SignatureLine:
    role: str
    name: str  # the account name
    typed_name: str
    signed_at: datetime
    ip: str | None
    user_agent: str | None


@dataclass(frozen=True)
class EventLine:
    seq: int
    kind: str
    occurred_at: datetime
    hash: str


@dataclass(frozen=True)
class PdfSource:
    """Everything a rendering shows. Built from the database by app.contracts.documents.services, or in
    memory (bench, tests); nothing here may depend on the moment of rendering."""

    public_id: str
    version_number: int
    terms: Terms
    terms_hash: str
    final: bool
    client: PartyLine
    contractor: PartyLine
    sent_at: datetime  # when this version was created
    verify_url: str
    signatures: tuple[SignatureLine, ...] = ()
    events: tuple[EventLine, ...] = field(default=())

    @property
    def issued_at(self) -> datetime:
        """The PDF's date: the last signature for a signed version, the sending time otherwise."""
        if self.final and self.signatures:
            return max(s.signed_at for s in self.signatures)
        return self.sent_at


@dataclass(frozen=True)
class RenderedPdf:
    data: bytes
    pages: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def size(self) -> int:
        return len(self.data)


# ---------------------------------------------------------------- template helpers


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def utc_seconds(value: datetime | None) -> str:
    """'2026-11-23 09:05:13 UTC': exact, and the same for readers in every time zone."""
    return "" if value is None else _utc(value).strftime("%Y-%m-%d %H:%M:%S UTC")


def long_date(value: str | date | datetime | None) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return f"{value.day} {value.strftime('%B %Y')}"


def amount(minor: int | None, currency: str) -> str:
    return "" if minor is None else format_minor(minor, currency)


def event_label(kind: str) -> str:
    return kind.replace("_", " ").capitalize()


def _w3c(value: datetime) -> str:
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def qr_data_uri(url: str) -> str:
    """The verification link as an SVG QR code (vector: sharp at any print size)."""
    code = qrcode.QRCode(border=0, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(url)
    code.make(fit=True)
    out = io.BytesIO()
    code.make_image(image_factory=qrcode.image.svg.SvgPathImage).save(out)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()


@lru_cache(maxsize=1)
def pdf_environment() -> Environment:
    env = make_environment()
    env.filters["utc_seconds"] = utc_seconds
    env.filters["long_date"] = long_date
    env.filters["event_label"] = event_label
    env.globals["amount"] = amount
    return env


def contract_context(source: PdfSource) -> dict[str, Any]:
    terms = source.terms
    kind = terms.kind.value
    retainer = terms.retainer if terms.is_retainer else None
    period = retainer.period if retainer else ""
    fee = terms.platform_fee  # None for versions sent before the fee was signed: nothing is printed
    return {
        "source": source,
        "title": terms.display_title,
        "scope": terms.scope,
        "kind": kind,
        "kind_label": KIND_LABELS.get(kind, kind),
        "currency": terms.currency,
        "review_window_days": terms.review_window_days,
        "milestones": terms.milestones,
        "milestone_total": terms.milestone_total,
        "stated_total_minor": terms.stated_total_minor,
        "fee": fee,
        "fee_words": fee.words(terms.kind) if fee else "",
        "shares": [fee.share_minor(m.amount_minor) for m in terms.milestones] if fee else [],
        "share_total": sum(fee.share_minor(m.amount_minor) for m in terms.milestones) if fee else 0,
        "retainer": retainer,
        "period_label": PERIOD_LABELS.get(period, period),
        "clauses": [c for c in terms.clauses if c.strip()],
        "created_w3c": _w3c(source.sent_at),
        "modified_w3c": _w3c(source.issued_at),
        "qr": qr_data_uri(source.verify_url),
    }


def contract_html(source: PdfSource) -> str:
    return pdf_environment().get_template("pdf/contract.html").render(contract_context(source))


# ---------------------------------------------------------------- rendering


class _BundledOnly(URLFetcher):
    """Only the bundled fonts, the stylesheet and inline data may be loaded: nothing from the
    network or elsewhere on disk, whatever a document's text contains. A font that fails to load
    stops the rendering instead of silently falling back to a system font."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=("file", "data"), fail_on_errors=True)

    def fetch(self, url: str, headers=None):
        if url.startswith("file:"):
            path = Path(unquote(urlparse(url).path)).resolve()
            if not (path.is_relative_to(FONTS.resolve()) or path == STYLESHEET.resolve()):
                raise ValueError(f"not loaded while rendering a PDF: {url}")
        elif not url.startswith("data:"):
            raise ValueError(f"not loaded while rendering a PDF: {url}")
        return super().fetch(url, headers)


def render_html_sync(html: str) -> RenderedPdf:
    """Any document of templates/pdf/ (a contract, a receipt or an invoice) as a PDF: the bundled
    fonts and pdf.css only, nothing else loaded. No PDF identifier, and dates from the document
    itself (in its template), never "now": the same HTML always gives the same bytes."""
    fetcher = _BundledOnly()
    fonts = FontConfiguration()
    stylesheet = CSS(filename=str(STYLESHEET), font_config=fonts, url_fetcher=fetcher)
    document = HTML(string=html, base_url=str(PDF_TEMPLATES) + "/", url_fetcher=fetcher).render(
        font_config=fonts, stylesheets=[stylesheet]
    )
    return RenderedPdf(document.write_pdf(pdf_identifier=False), len(document.pages))


def render_pdf_sync(source: PdfSource) -> RenderedPdf:
    return render_html_sync(contract_html(source))


async def render_pdf(source: PdfSource) -> RenderedPdf:
    """Render in a worker thread: WeasyPrint takes a good fraction of a second and would block
    the event loop."""
    return await anyio.to_thread.run_sync(render_pdf_sync, source)
