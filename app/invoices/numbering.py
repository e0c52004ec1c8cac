"""Gap-free document numbers, one sequence per issuer and year (decision 0040).

A number is taken with one statement on the issuer's `invoice_sequences` row:

    INSERT … ON CONFLICT (issuer_key, year) DO UPDATE SET last_number = last_number + 1 RETURNING

in the transaction that issues the document. The row stays locked until that transaction ends:
a rollback gives the number back, and the next transaction for the same issuer waits and gets
the same number. So the committed numbers of an issuer's year are exactly 1..N.

Numbers are taken as late as possible: `stage` keeps a document aside without a number, and the
transaction's commit numbers and inserts everything staged (a `CommitStage`, app/platform/commit_stage.py, which
runs before the audit chain's). At that point the transaction has taken every other lock it will
take, except the audit chain's, which is taken after. The sequence rows are locked in one order
(issuer key, then year), so two committing transactions never wait for each other crosswise, and a
transaction holding a sequence row waits only for rows later in that order or the audit lock,
whose holder waits for nothing. A sequence row is held for the few milliseconds of a commit, not
for the whole money-moving transaction."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.db import utcnow
from app.invoices.models import Invoice
from app.platform.commit_stage import CommitStage

PLATFORM_ISSUER = "pactline"
PLATFORM_PREFIX = "PL"

_NEXT = text(
    "INSERT INTO invoice_sequences (issuer_key, year, last_number) VALUES (:issuer_key, :year, 1) "
    "ON CONFLICT (issuer_key, year) DO UPDATE SET last_number = invoice_sequences.last_number + 1 "
    "RETURNING last_number"
)


def user_issuer(user_id: int) -> str:
    return f"user:{user_id}"


def format_number(issuer_key: str, year: int, sequence: int) -> str:
    """As printed: Pactline's "PL-2026-000042"; a contractor's "C<their user number>-2026-0042" (a
    prefix that never changes and no two contractors share; four digits, more when needed)."""
    if issuer_key == PLATFORM_ISSUER:
        return f"{PLATFORM_PREFIX}-{year}-{sequence:06d}"
    kind, _, user_id = issuer_key.partition(":")
    if kind != "user" or not user_id.isdigit():
        raise ValueError(f"not an issuer: {issuer_key!r}")
    return f"C{user_id}-{year}-{sequence:04d}"


def _next_number(session: Session, issuer_key: str, year: int) -> int:
    return session.execute(_NEXT, {"issuer_key": issuer_key, "year": year}).scalar_one()


async def next_number(db: AsyncSession, issuer_key: str, year: int) -> int:
    """Take the next number of `issuer_key`'s `year` now, in the caller's transaction (the row
    stays locked until it ends; a rollback gives the number back)."""
    return await db.run_sync(_next_number, issuer_key, year)


# ---------------------------------------------------------------- staged documents


async def stage(db: AsyncSession, invoice: Invoice) -> Invoice:
    """Keep `invoice` (everything filled in but its year, sequence, number and issue time) for
    the caller's commit, which numbers and inserts it. Dropped if the transaction, or the
    savepoint it was staged in, rolls back."""
    return await _STAGE.add(db, invoice)


def staged(db: AsyncSession, kind: str, entry_id: int) -> Invoice | None:
    """The document of `kind` for `entry_id` staged in this transaction and not yet committed."""
    for invoice in _STAGE.items(db.sync_session):
        if invoice.kind == kind and invoice.entry_id == entry_id:
            return invoice
    return None


def _number_staged(session: Session, items: list[Invoice]) -> None:
    now = utcnow()
    # One lock order for every transaction: issuer key, then year (all of one commit share a year).
    for invoice in sorted(items, key=lambda i: i.issuer_key):
        taken = session.execute(
            select(Invoice.id).where(Invoice.kind == invoice.kind, Invoice.entry_id == invoice.entry_id)
        ).first()
        if taken is not None:
            continue  # issued by a transaction that committed first: never number it twice
        invoice.year, invoice.issued_at = now.year, now
        invoice.sequence = _next_number(session, invoice.issuer_key, now.year)
        invoice.number = format_number(invoice.issuer_key, now.year, invoice.sequence)
        session.add(invoice)
    session.flush()


async def number_now(db: AsyncSession) -> None:
    """Number and insert what is staged now instead of at commit (for a caller that needs the
    numbers before it commits; the sequence rows stay locked until the transaction ends)."""
    await db.run_sync(_STAGE.write_now)


# Numbers are taken at commit, before the audit chain takes its lock (the last one of all).
_STAGE: CommitStage[Invoice] = CommitStage("invoices", _number_staged, first=True)
