"""Receipt PDF figure: the median time to render one receipt (three funded milestones, a client's
company with its VAT ID) over RUNS renders, through the function the download route uses, from an
in-memory document (no database, no storage). `python -m bench.invoices` runs just this."""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import UTC, datetime
from typing import Any

RUNS = 20


def _receipt():
    from app.invoices.models import DocumentKind, Invoice

    milestones = (("Design", 150_000), ("Build", 300_000), ("Launch support", 50_000))
    return Invoice(
        public_id="doc_BenchReceipt0000000000000",
        kind=DocumentKind.receipt,
        issuer_key="pactline",
        year=2026,
        sequence=42,
        number="PL-2026-000042",
        currency="EUR",
        total_minor=sum(amount for _, amount in milestones),
        issued_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
        lines=[{"description": f"Milestone “{title}”: paid into escrow", "amount_minor": a} for title, a in milestones],
        issuer={
            "name": "Pactline",
            "email": None,
            "address": "1 Quay Street\nDublin",
            "country": "IE",
            "vat_id": "IE1234567T",
            "company": None,
        },  # fmt: skip
        recipient={
            "name": "Clara Client",
            "email": "clara@example.test",
            "country": "DE",
            "vat_id": "DE123456789",
            "company": {
                "name": "Clinic Physio GmbH",
                "address": "Hauptstraße 5\n10115 Berlin",
                "country": "DE",
                "registration_number": "HRB 98765",
                "vat_id": "DE123456789",
            },  # fmt: skip
            "contract": {"title": "Clinic website with online booking", "public_id": "BenchContract01"},
        },
    )


async def _measure() -> dict[str, Any]:
    from app.invoices.pdf import render_invoice

    receipt = _receipt()
    await render_invoice(receipt)  # warm-up: fonts parsed, template compiled
    seconds, digests, pages, size = [], set(), 0, 0
    for _ in range(RUNS):
        started = time.perf_counter()
        rendered = await render_invoice(receipt)
        seconds.append(time.perf_counter() - started)
        digests.add(rendered.sha256)
        pages, size = rendered.pages, rendered.size
    return {
        "runs": RUNS,
        "pages": pages,
        "size_bytes": size,
        "median_ms": statistics.median(seconds) * 1000,
        "min_ms": min(seconds) * 1000,
        "max_ms": max(seconds) * 1000,
        "identical": len(digests) == 1,  # deterministic: every run gave the same bytes
    }


def measure() -> dict[str, Any]:
    return asyncio.run(_measure())


def describe(result: dict[str, Any]) -> str:
    note = "" if result["identical"] else "  (bytes differed between runs!)"
    return "\n".join(
        [
            f"{'receipt pdf (median of ' + str(result['runs']) + ')':<36}{'pages':>6}{'p50 ms':>10}{'min ms':>9}{'max ms':>9}",
            f"{'receipt, 3 lines, company + VAT':<36}{result['pages']:>6}{result['median_ms']:>10.0f}"
            f"{result['min_ms']:>9.0f}{result['max_ms']:>9.0f}{note}",
        ]
    )


if __name__ == "__main__":
    print(describe(measure()))
