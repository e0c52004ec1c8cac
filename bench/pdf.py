"""Contract PDF figures: render time of a ~3-page contract and of a 20-milestone contract (median
of 5 each), through the function the app and the worker use, from in-memory contracts (no database).
`python -m bench.pdf` runs just this."""

from __future__ import annotations

import asyncio
import hashlib
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

RUNS = 5

_SCOPE = (
    "Design and build a five-page website for a physiotherapy clinic, with online booking that "
    "syncs to the clinic's existing calendar, a page per therapist and a contact form. "
) * 6
_CRITERIA = "Works on current phones and desktops; passes the agreed checklist; the client can edit the text."
_CLAUSES = [
    "Ownership: on full payment, all rights in the deliverables pass to the client.",
    "Confidentiality: each party keeps the other's business information confidential during and after this contract.",
    "Termination: either party may end this contract with 14 days' written notice; work done until then is paid.",
    "Liability: each party's liability is limited to the total amount of this contract.",
    "Changes: changes to scope, amounts or dates are agreed as a signed amendment.",
    "Disputes: the parties first try to settle a disagreement through the platform's dispute process.",
]


def _source(milestones: int, *, scope_paragraphs: int):
    from app.contracts.documents.pdf import EventLine, PartyLine, PdfSource, SignatureLine
    from app.contracts.terms import Terms

    start = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    terms = Terms.from_json(
        {
            "title": "Clinic website with online booking",
            "scope": "\n\n".join([_SCOPE] * scope_paragraphs),
            "kind": "milestone",
            "currency": "EUR",
            "review_window_days": 7,
            "stated_total_minor": 150_000 * milestones,
            "milestones": [
                {
                    "title": f"Milestone {n + 1}: delivery {n + 1}",
                    "acceptance_criteria": _CRITERIA,
                    "amount_minor": 150_000,
                    "due_date": (start + timedelta(days=14 * (n + 1))).date().isoformat(),
                }
                for n in range(milestones)
            ],
            "retainer": None,
            "template": None,
            "clauses": _CLAUSES,
        }
    )
    kinds = ["contract_drafted", "contract_version_sent", "contract_signed", "contract_signed", "contract_activated"]
    events = tuple(
        EventLine(100 + n, kind, start + timedelta(minutes=n), hashlib.sha256(f"{n}".encode()).hexdigest())
        for n, kind in enumerate(kinds)
    )
    signatures = tuple(
        SignatureLine(role, name, name, start + timedelta(minutes=2 + n), "203.0.113.7", "Mozilla/5.0 (bench)")
        for n, (role, name) in enumerate((("Client", "Clara Client"), ("Contractor", "Conrad Contractor")))
    )
    return PdfSource(
        public_id="BenchContract01",
        version_number=1,
        terms=terms,
        terms_hash=hashlib.sha256(b"bench terms").hexdigest(),
        final=True,
        client=PartyLine("Client", "Clara Client", "Clinic Physio GmbH"),
        contractor=PartyLine("Contractor", "Conrad Contractor"),
        sent_at=start,
        verify_url="http://127.0.0.1:8000/verify/BenchContract01",
        signatures=signatures,
        events=events,
    )


async def _time(source) -> dict[str, Any]:
    from app.contracts.documents.pdf import render_pdf

    await render_pdf(source)  # warm-up: fonts parsed, templates compiled
    seconds, pages, digests = [], 0, set()
    for _ in range(RUNS):
        started = time.perf_counter()
        rendered = await render_pdf(source)
        seconds.append(time.perf_counter() - started)
        pages, digests = rendered.pages, digests | {rendered.sha256}
    return {
        "pages": pages,
        "median_ms": statistics.median(seconds) * 1000,
        "min_ms": min(seconds) * 1000,
        "max_ms": max(seconds) * 1000,
        "identical": len(digests) == 1,  # deterministic: every run gave the same bytes
        "runs": RUNS,
    }


async def _measure() -> dict[str, Any]:
    short = await _time(_source(5, scope_paragraphs=3))
    long = await _time(_source(20, scope_paragraphs=1))
    return {"short": short, "twenty_milestones": long, "ratio": long["median_ms"] / short["median_ms"]}


def measure() -> dict[str, Any]:
    return asyncio.run(_measure())


def describe(result: dict[str, Any]) -> str:
    lines = [f"{'contract pdf (median of ' + str(RUNS) + ')':<36}{'pages':>6}{'p50 ms':>10}{'min ms':>9}{'max ms':>9}"]
    for key, label in (("short", "short contract"), ("twenty_milestones", "20 milestones")):
        r = result[key]
        note = "" if r["identical"] else "  (bytes differed between runs!)"
        lines.append(f"{label:<36}{r['pages']:>6}{r['median_ms']:>10.0f}{r['min_ms']:>9.0f}{r['max_ms']:>9.0f}{note}")
    lines.append(f"20 milestones vs short: {result['ratio']:.2f}×")
    return "\n".join(lines)


if __name__ == "__main__":
    print(describe(measure()))
