"""/admin/reconciliation: the daily runs, their differing rows, acknowledging them, and a run for
a chosen day. Admins only, after two-step sign-in (others: 404)."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.plugins.flash import flash

from app.accounts.guards import CurrentUser, requires_admin
from app.db import DB, utcnow
from app.errors import FormError
from app.payments import reconciliation_console as console
from app.payments.reconciliation import day_words
from app.web.forms import FormData, text
from app.web.htmx import see_other
from app.web.templating import render


class ReconciliationController(Controller):
    path = "/admin/reconciliation"
    guards = [requires_admin]

    async def _page(self, request: Request, db: DB, *, errors=None, form=None, status_code: int = 200) -> Response:
        context = {
            "runs": await console.runs(db),
            "today": utcnow().date(),
            "errors": errors or {},
            "form": form or {},
        }
        # An htmx request (the live signal of a new mismatch) gets the list of runs alone.
        return render(request, "admin/reconciliation.html", context, block="runs", status_code=status_code)

    @get("/", name="admin:reconciliation")
    async def page(self, request: Request, db: DB) -> Response:
        return await self._page(request, db)

    @post("/{run_id:int}/acknowledge", name="admin:reconciliation-acknowledge")
    async def acknowledge(self, request: Request, run_id: FromPath[int], db: DB, user: CurrentUser) -> Response:
        run = await console.acknowledge(db, user, run_id)
        await db.commit()
        flash(request, f"The differences of {day_words(run.day)} are acknowledged.", category="success")
        return see_other(request, request.app.route_reverse("admin:reconciliation"))

    @post("/run", name="admin:reconciliation-run")
    async def run_now(self, request: Request, data: FormData, db: DB, user: CurrentUser) -> Response:
        try:
            day = console.read_day(data, utcnow().date())
        except FormError as exc:
            return await self._page(request, db, errors=exc.errors, form={"day": text(data, "day")[:40]},
                                    status_code=422)  # fmt: skip
        await console.request_run(db, user, day)
        await db.commit()
        flash(request, f"The check of {day_words(day)} has started; its result appears below in a minute.",
              category="success")  # fmt: skip
        return see_other(request, request.app.route_reverse("admin:reconciliation"))
