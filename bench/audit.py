"""Audit chain figures: appends per second with 8 concurrent writers (and no seq gaps), and the
time `verify` takes over 100 000 events."""

from __future__ import annotations

import asyncio
import time
from typing import Any

WRITERS = 8
APPENDS_PER_WRITER = 250
VERIFY_EVENTS = 100_000


async def _measure(env: dict[str, str]) -> dict[str, Any]:
    from sqlalchemy import func, insert, select

    from app.audit.chain import GENESIS, append, chain_hash, event_body, verify
    from app.audit.models import AuditEvent
    from app.config import load_settings
    from app.db import make_engine, make_sessionmaker, utcnow

    engine = make_engine(load_settings(env), pool_size=WRITERS + 2)
    sessions = make_sessionmaker(engine)
    try:

        async def writer(n: int) -> None:
            for i in range(APPENDS_PER_WRITER):
                async with sessions() as db, db.begin():
                    await append(db, "bench_event", actor_id=n, subject_type="bench", subject_id=str(n), data={"i": i})

        async with sessions() as db:
            before = await db.scalar(select(func.count()).select_from(AuditEvent)) or 0  # sign-ins of earlier scenarios
        started = time.perf_counter()
        await asyncio.gather(*(writer(n) for n in range(WRITERS)))
        append_seconds = time.perf_counter() - started
        async with sessions() as db:
            count = await db.scalar(select(func.count()).select_from(AuditEvent))
            last = await db.scalar(select(func.max(AuditEvent.seq)))
            head = await db.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))

        # Grow the chain to VERIFY_EVENTS with valid links (bulk insert, not timed).
        prev, seq, rows = head.hash, head.seq, []
        async with sessions() as db, db.begin():
            while seq < VERIFY_EVENTS:
                seq += 1
                now = utcnow()
                body = event_body(seq, now, "bench_bulk", None, "bench", "bulk", {"n": seq})
                digest = chain_hash(prev, body)
                rows.append({"seq": seq, "occurred_at": now, "kind": "bench_bulk", "actor_id": None, "subject_type": "bench",
                             "subject_id": "bulk", "data": {"n": seq}, "prev_hash": prev, "hash": digest})  # fmt: skip
                prev = digest
                if len(rows) == 5000:
                    await db.execute(insert(AuditEvent), rows)
                    rows = []
            if rows:
                await db.execute(insert(AuditEvent), rows)
        async with sessions() as db:
            started = time.perf_counter()
            verdict = await verify(db)
            verify_seconds = time.perf_counter() - started
        return {
            "writers": WRITERS,
            "appends": WRITERS * APPENDS_PER_WRITER,
            "appends_per_s": WRITERS * APPENDS_PER_WRITER / append_seconds,
            # No gaps anywhere in the chain, and every append of this run is in it.
            "gapless": count == last and count - before == WRITERS * APPENDS_PER_WRITER,
            "verify_events": verdict.checked,
            "verify_ok": verdict.ok,
            "verify_seconds": verify_seconds,
            "genesis": GENESIS[:8],
        }
    finally:
        await engine.dispose()


def measure(env: dict[str, str]) -> dict[str, Any]:
    return asyncio.run(_measure(env))


def describe(result: dict[str, Any]) -> str:
    return (
        f"audit chain: {result['appends_per_s']:.0f} appends/s with {result['writers']} concurrent writers "
        f"({result['appends']} appends, {'no gaps' if result['gapless'] else 'GAPS FOUND'}); "
        f"verify {result['verify_events']} events in {result['verify_seconds']:.1f} s "
        f"({'intact' if result['verify_ok'] else 'BROKEN'})"
    )
