"""Gap-free document numbers, one sequence per issuer and year (decision 0040).

A number is taken with one statement on the issuer's `invoice_sequences` row:

    INSERT … ON CONFLICT (issuer_key, year) DO UPDATE SET last_number = last_number + 1 RETURNING

in the transaction that issues the document. The row stays locked until that transaction ends:
a rollback gives the number back, and the next transaction for the same issuer waits and gets
the same number. So the committed numbers of an issuer's year are exactly 1..N.

Numbers are taken as late as possible: `stage` keeps a document aside without a number, and the
transaction's commit numbers and inserts everything staged (the `before_commit` hook below, which
runs before the audit chain's). At that point the transaction has taken every other lock it will
take, except the audit chain's, which is taken after. The sequence rows are locked in one order
(issuer key, then year), so two committing transactions never wait for each other crosswise, and a
transaction holding a sequence row waits only for rows later in that order or the audit lock,
whose holder waits for nothing. A sequence row is held for the few milliseconds of a commit, not
for the whole money-moving transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import event as sa_event
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from app.db import utcnow
from app.invoices.models import Invoice

PLATFORM_ISSUER = "pactline"
PLATFORM_PREFIX = "PL"

_NEXT = text(
    "INSERT INTO invoice_sequences (issuer_key, year, last_number) VALUES (:issuer_key, :year, 1) "
    "ON CONFLICT (issuer_key, year) DO UPDATE SET last_number = invoice_sequences.last_number + 1 "
    "RETURNING last_number"
)
_STAGED = "pactline.invoices_staged"
_RELEASING = "pactline.invoices_releasing"


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


@dataclass(frozen=True)
class _Staged:
    invoice: Invoice
    transaction: SessionTransaction | None  # the innermost (sub)transaction it was staged in


async def stage(db: AsyncSession, invoice: Invoice) -> Invoice:
    """Keep `invoice` (everything filled in but its year, sequence, number and issue time) for
    the caller's commit, which numbers and inserts it. Dropped if the transaction, or the
    savepoint it was staged in, rolls back."""
    await db.connection()  # begin the transaction, so the document knows which one it belongs to
    session = db.sync_session
    owner = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_STAGED, []).append(_Staged(invoice, owner))
    return invoice


def staged(db: AsyncSession, kind: str, entry_id: int) -> Invoice | None:
    """The document of `kind` for `entry_id` staged in this transaction and not yet committed."""
    for item in db.sync_session.info.get(_STAGED, ()):
        if item.invoice.kind == kind and item.invoice.entry_id == entry_id:
            return item.invoice
    return None


def _number_staged(session: Session) -> None:
    items = session.info.get(_STAGED)
    if not items:
        return
    now = utcnow()
    # One lock order for every transaction: issuer key, then year (all of one commit share a year).
    for item in sorted(items, key=lambda i: i.invoice.issuer_key):
        invoice = item.invoice
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
    items.clear()


async def number_now(db: AsyncSession) -> None:
    """Number and insert what is staged now instead of at commit (for a caller that needs the
    numbers before it commits; the sequence rows stay locked until the transaction ends)."""
    await db.run_sync(_number_staged)


@sa_event.listens_for(Session, "before_commit", insert=True)  # before the audit chain takes its lock
def _before_commit(session: Session) -> None:
    if not session.info.get(_STAGED):
        return
    savepoint = session.get_nested_transaction()
    if savepoint is not None and session.info.get(_RELEASING) is not savepoint:
        # As in app/audit/chain.py: also called when a savepoint is released and the transaction
        # goes on, and, when a commit finds a savepoint still open, called once for the commit
        # and again while releasing that savepoint on the way to COMMIT. The second call numbers.
        session.info[_RELEASING] = savepoint
        return
    _number_staged(session)


@sa_event.listens_for(Session, "after_soft_rollback")
def _after_soft_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    items = session.info.get(_STAGED)
    if items:
        items[:] = [i for i in items if not _inside(i.transaction, previous_transaction)]


@sa_event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if session.info.get(_RELEASING) is transaction:
        del session.info[_RELEASING]
    if transaction.parent is None:
        session.info.pop(_STAGED, None)
        session.info.pop(_RELEASING, None)


def _inside(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False
