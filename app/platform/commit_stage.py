"""Rows written as the last statements before a transaction's COMMIT.

The audit chain (app/audit/chain.py) and the document numbers (app/invoices/numbering.py) both
need a lock that every writer shares — the chain's head, an issuer's number sequence. Taken when
a verb appends, it would be held for the rest of the verb; taken at commit, it is held for
milliseconds. A `CommitStage` keeps items aside in the session and hands them to its `write`
function just before COMMIT; an item staged in a transaction or savepoint that rolls back is
dropped with it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

T = TypeVar("T")


@dataclass(frozen=True)
class _Staged(Generic[T]):
    item: T
    transaction: SessionTransaction | None  # the innermost (sub)transaction it was staged in


class CommitStage(Generic[T]):
    """`write(session, items)` runs at commit with what is staged, in staging order. `first`:
    run before the stages registered earlier (the documents' numbers are taken before the audit
    chain's lock, which is the last one any transaction takes)."""

    def __init__(self, name: str, write: Callable[[Session, list[T]], None], *, first: bool = False) -> None:
        self._staged = f"pactline.{name}_staged"
        self._releasing = f"pactline.{name}_releasing"
        self._write = write
        sa_event.listen(Session, "before_commit", self._before_commit, insert=first)
        sa_event.listen(Session, "after_soft_rollback", self._after_soft_rollback)
        sa_event.listen(Session, "after_transaction_end", self._after_transaction_end)

    async def add(self, db: AsyncSession, item: T) -> T:
        """Stage `item` in the caller's transaction (or the savepoint open now)."""
        await db.connection()  # begin the transaction, so the item knows which one it belongs to
        session = db.sync_session
        owner = session.get_nested_transaction() or session.get_transaction()
        session.info.setdefault(self._staged, []).append(_Staged(item, owner))
        return item

    def items(self, session: Session) -> list[T]:
        """What is staged and not yet written."""
        return [s.item for s in session.info.get(self._staged, ())]

    def write_now(self, session: Session) -> None:
        """Write what is staged now instead of at commit."""
        staged = session.info.get(self._staged)
        if staged:
            items = [s.item for s in staged]
            staged.clear()
            self._write(session, items)

    def _before_commit(self, session: Session) -> None:
        if not session.info.get(self._staged):
            return
        savepoint = session.get_nested_transaction()
        if savepoint is not None and session.info.get(self._releasing) is not savepoint:
            # SQLAlchemy also calls this when a savepoint is released and the transaction goes
            # on; the items wait for the real commit. But an outer commit that finds a savepoint
            # still open calls this for itself first and then again while releasing that
            # savepoint on its way to COMMIT: the second call for the same savepoint writes.
            session.info[self._releasing] = savepoint
            return
        self.write_now(session)

    def _after_soft_rollback(self, session: Session, previous_transaction: SessionTransaction) -> None:
        """Drop what was staged in the rolled-back transaction or savepoint (or one inside it)."""
        staged = session.info.get(self._staged)
        if staged:
            staged[:] = [s for s in staged if not _inside(s.transaction, previous_transaction)]

    def _after_transaction_end(self, session: Session, transaction: SessionTransaction) -> None:
        if session.info.get(self._releasing) is transaction:
            del session.info[self._releasing]
        if transaction.parent is None:  # committed, rolled back or closed: nothing stays staged
            session.info.pop(self._staged, None)
            session.info.pop(self._releasing, None)


def _inside(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False
