"""Verifying the chain on an administrator's request, with live progress."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from app.audit.chain import verify
from app.audit.models import AuditEvent
from app.db import utcnow
from app.escrow import ledger
from app.events import publish
from app.worker.registry import task

PROGRESS_EVERY = 2000
LAST_VERIFICATION = "audit:last-verification"
PROGRESS_KEPT_SECONDS = 24 * 3600


def progress_key(admin_id: int) -> str:
    """Where the progress of the check an admin started is kept for their page to read."""
    return f"audit:verify-progress:{admin_id}"


@task(retries=1, timeout=3600)
async def verify_audit_chain(ctx: dict, *, admin_id: int) -> dict:
    sessionmaker = ctx["sessionmaker"]
    async with sessionmaker() as db:
        total = await db.scalar(select(func.count()).select_from(AuditEvent)) or 0

    async def say(progress_now: dict) -> None:
        # The state goes where the page's GET reads it; the event is only the signal to read it.
        await ctx["redis"].set(progress_key(admin_id), json.dumps(progress_now), ex=PROGRESS_KEPT_SECONDS)
        async with sessionmaker() as db:
            publish(db, admin_id, "audit-verify", {k: v for k, v in progress_now.items() if k != "verdict"})
            await db.commit()

    async def progress(done: int) -> None:
        if done % PROGRESS_EVERY == 0 or done == total:
            await say({"running": True, "done": done, "total": total})

    await say({"running": True, "done": 0, "total": total})
    async with sessionmaker() as db:
        verdict = await verify(db, progress)
        # The money ledger is checked with the chain it is written on (the same as `pactline ledger verify`).
        money = await ledger.verify(db)
    summary = {
        "ok": verdict.ok,
        "checked": verdict.checked,
        "broken_seq": verdict.broken_seq,
        "reason": verdict.reason,
        "head": verdict.head,
        "ledger": {
            "ok": money.ok,
            "entries": money.entries,
            "broken_entry_id": money.broken_entry_id,
            "reason": money.reason,
        },
    }
    await say({"running": False, "total": total, "ok": verdict.ok and money.ok, "verdict": summary})
    result = summary | {"at": utcnow().isoformat(timespec="seconds")}
    await ctx["redis"].set(LAST_VERIFICATION, json.dumps(result))
    return result
