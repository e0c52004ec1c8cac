"""Appending to the chain and checking it. The same canonical form is used by the standalone
checker in docs/ (verify_bundle.py), so a proof bundle can be checked without this app."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.audit.models import GENESIS, AuditEvent
from app.db import utcnow
from app.platform.commit_stage import CommitStage

# The transaction-scoped lock that serializes writing to the chain, so `seq` has no gaps and
# `prev_hash` is always the row before, even with many writers. It is taken at commit, not at
# `append` (see _write_staged): whatever a verb does after appending holds up no other verb.
_APPEND_LOCK = 727_001


def canonical(event: dict[str, Any]) -> bytes:
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def event_body(
    seq: int,
    occurred_at: datetime,
    kind: str,
    actor_id: int | None,
    subject_type: str | None,
    subject_id: str | None,
    data: dict,
) -> dict[str, Any]:
    return {
        "seq": seq,
        "occurred_at": occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "kind": kind,
        "actor_id": actor_id,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "data": data,
    }


def chain_hash(prev_hash: str, body: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(body)).hexdigest()


async def append(
    db: AsyncSession,
    kind: str,
    *,
    actor_id: int | None = None,
    subject_type: str | None = None,
    subject_id: str | int | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Stage an event in the caller's transaction. It joins the chain when that transaction
    commits — after the transaction's other writes, in the order of the `append` calls — and is
    dropped if it (or the savepoint it was staged in) rolls back. The returned event gets its
    `seq`, `occurred_at`, `prev_hash` and `hash` at that commit; until then they are None."""
    event = AuditEvent(
        kind=kind,
        actor_id=actor_id,
        subject_type=subject_type,
        subject_id=str(subject_id) if subject_id is not None else None,
        data=json.loads(canonical(data or {})),  # stored exactly as it is hashed
    )
    return await _STAGE.add(db, event)


def _write_staged(session: Session, staged: list[AuditEvent]) -> None:
    """Lock, read the head, insert: the last statements before COMMIT. The transaction's other
    rows are flushed first so that their inserts, triggers and constraint checks run unlocked."""
    session.flush()
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK})
    head = session.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
    seq, prev_hash = (head.seq + 1, head.hash) if head else (1, GENESIS)
    occurred_at = utcnow()  # the moment it enters the record: time order is chain order
    for event in staged:
        event.seq, event.occurred_at, event.prev_hash = seq, occurred_at, prev_hash
        event.hash = chain_hash(prev_hash, stored_body(event))
        session.add(event)
        seq, prev_hash = seq + 1, event.hash
    session.flush()


# The chain's lock is the last one a transaction takes (documents are numbered just before it).
_STAGE: CommitStage[AuditEvent] = CommitStage("audit", _write_staged)


@dataclass
class Verdict:
    ok: bool
    checked: int
    head: str
    broken_seq: int | None = None
    reason: str = ""


def stored_body(row: AuditEvent) -> dict[str, Any]:
    """What a stored event's hash covers, read back from its row."""
    return event_body(row.seq, row.occurred_at, row.kind, row.actor_id, row.subject_type, row.subject_id, row.data)


def content_holds(row: AuditEvent) -> bool:
    """The row's hash still covers its content and its prev_hash (nothing changed after writing)."""
    return chain_hash(row.prev_hash, stored_body(row)) == row.hash


def check(rows: Iterable[AuditEvent], *, start_prev: str = GENESIS, start_seq: int = 1) -> Verdict:
    """Walk rows in seq order; the first gap, broken link or wrong hash ends the walk."""
    expected_seq, prev = start_seq, start_prev
    checked = 0
    for row in rows:
        if row.seq != expected_seq:
            return Verdict(False, checked, prev, expected_seq, f"seq {expected_seq} is missing (next is {row.seq})")
        if row.prev_hash != prev:
            return Verdict(False, checked, prev, row.seq, "its prev_hash is not the hash of the event before it")
        if not content_holds(row):
            return Verdict(
                False, checked, prev, row.seq, "its content does not match its hash (changed after it was written)"
            )
        prev, expected_seq, checked = row.hash, expected_seq + 1, checked + 1
    return Verdict(True, checked, prev)


async def subject_events(db: AsyncSession, subject_type: str, subject_id: str) -> list[AuditEvent]:
    query = (
        select(AuditEvent)
        .where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == subject_id)
        .order_by(AuditEvent.seq)
    )
    return list((await db.scalars(query)).all())


async def check_subject(db: AsyncSession, subject_type: str, subject_id: str) -> Verdict:
    """Check one subject's events without walking the whole chain: each event's hash covers its
    content and its prev_hash, and its prev_hash is the hash of the row before it in the chain
    (usually another subject's event). `head` is the subject's last hash."""
    events = await subject_events(db, subject_type, subject_id)
    before = dict(
        (
            await db.execute(
                select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.seq.in_([e.seq - 1 for e in events]))
            )
        ).all()
    )
    head = GENESIS
    for n, event in enumerate(events):
        expected_prev = GENESIS if event.seq == 1 else before.get(event.seq - 1)
        if expected_prev is None:
            return Verdict(False, n, head, event.seq, "the event before it is missing from the chain")
        if event.prev_hash != expected_prev:
            return Verdict(False, n, head, event.seq, "it does not link to the event before it")
        if not content_holds(event):
            return Verdict(False, n, head, event.seq, "its content was changed after it was written")
        head = event.hash
    return Verdict(True, len(events), head)


def as_json(event: AuditEvent) -> dict[str, Any]:
    """An event as exported in proof bundles (docs/audit/verify_bundle.py reads this)."""
    return {**stored_body(event), "prev_hash": event.prev_hash, "hash": event.hash}


async def bundle(db: AsyncSession, subject_type: str, subject_id: str) -> dict[str, Any]:
    """A subject's events and the chain head now: what the parties download as proof."""
    events = await subject_events(db, subject_type, subject_id)
    head = await db.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
    return {
        "subject": {"type": subject_type, "id": subject_id},
        "exported_at": utcnow().isoformat(timespec="seconds"),
        "events": [as_json(event) for event in events],
        "chain_head": {"seq": head.seq, "hash": head.hash} if head else None,
    }


async def stream(db: AsyncSession, batch: int = 2000) -> AsyncIterator[list[AuditEvent]]:
    """The whole chain in seq order, a batch at a time (constant memory)."""
    last = 0
    while True:
        rows = (
            await db.scalars(select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(batch))
        ).all()
        if not rows:
            return
        yield list(rows)
        last = rows[-1].seq
        db.expunge_all()


async def verify(db: AsyncSession, progress=None) -> Verdict:
    prev, next_seq, total = GENESIS, 1, 0
    async for rows in stream(db):
        verdict = check(rows, start_prev=prev, start_seq=next_seq)
        total += verdict.checked
        if not verdict.ok:
            return Verdict(False, total, verdict.head, verdict.broken_seq, verdict.reason)
        prev, next_seq = verdict.head, rows[-1].seq + 1
        if progress is not None:
            await progress(total)
    return Verdict(True, total, prev)
