"""Console: the audit chain's status, and verification on demand (progress shown live)."""

from __future__ import annotations

import json

from litestar import Controller, Request, Response, get, post
from litestar.plugins.flash import flash
from sqlalchemy import func, select

from app.accounts.guards import CurrentUser, requires_admin
from app.audit.models import AuditEvent
from app.audit.services import start_verification
from app.audit.tasks import LAST_VERIFICATION, progress_key
from app.db import DB
from app.web.htmx import see_other
from app.web.templating import is_htmx, render


class AuditController(Controller):
    path = "/admin/audit"
    guards = [requires_admin]

    @get("/", name="admin:audit")
    async def page(self, request: Request, db: DB) -> Response:
        total = await db.scalar(select(func.count()).select_from(AuditEvent)) or 0
        head = await db.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
        recent = (await db.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(20))).all()
        raw = await request.app.state.redis.get(LAST_VERIFICATION)
        last = json.loads(raw) if raw else None
        return render(request, "admin/audit.html", {"total": total, "head": head, "recent": recent, "last": last})

    @get("/verify", name="admin:audit-progress")
    async def progress(self, request: Request, user: CurrentUser) -> Response:
        """The progress of the check this admin started, re-fetched on each "audit-verify" signal."""
        raw = await request.app.state.redis.get(progress_key(user.id))
        return render(request, "admin/_audit_progress.html", json.loads(raw) if raw else {})

    @post("/verify", name="admin:audit-verify")
    async def start(self, request: Request, db: DB, user: CurrentUser) -> Response:
        start_verification(db, user)
        await db.commit()
        if not is_htmx(request):
            flash(request, "The check has started. Reload this page in a moment to see the result.", category="info")
            return see_other(request, request.app.route_reverse("admin:audit"))
        context = {"running": True, "done": 0, "total": None}
        return render(request, "admin/_audit_progress.html", context, status_code=202)
