"""Verifying the chain on an administrator's request, with live progress."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from app.audit.chain import verify
from app.audit.models import AuditEvent
from app.db import utcnow
from app.events import publish
from app.web.templating import render_fragment
from app.worker.registry import task

PROGRESS_EVERY = 2000
LAST_VERIFICATION = "audit:last-verification"


@task(retries=1, timeout=3600)
async def verify_audit_chain(ctx: dict, *, admin_id: int) -> dict:
    sessionmaker = ctx["sessionmaker"]
    async with sessionmaker() as db:
        total = await db.scalar(select(func.count()).select_from(AuditEvent)) or 0

    async def say(fragment_context: dict) -> None:
        async with sessionmaker() as db:
            publish(db, admin_id, "audit-verify", render_fragment("admin/_audit_progress.html", fragment_context))
            await db.commit()

    async def progress(done: int) -> None:
        if done % PROGRESS_EVERY == 0 or done == total:
            await say({"running": True, "done": done, "total": total})

    await say({"running": True, "done": 0, "total": total})
    async with sessionmaker() as db:
        verdict = await verify(db, progress)
    await say({"running": False, "verdict": verdict, "total": total})
    result = {
        "ok": verdict.ok,
        "checked": verdict.checked,
        "broken_seq": verdict.broken_seq,
        "reason": verdict.reason,
        "head": verdict.head,
        "at": utcnow().isoformat(timespec="seconds"),
    }
    await ctx["redis"].set(LAST_VERIFICATION, json.dumps(result))
    return result
