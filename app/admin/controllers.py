"""Console pages. Guards: admin role (others get 404) and two-step sign-in this session."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery
from litestar.plugins.flash import flash
from sqlalchemy import func, select

from app.accounts.guards import CurrentUser, requires_admin, requires_recent_auth
from app.accounts.models import AccountEvent, User
from app.accounts.services import normalize_email
from app.admin import services
from app.admin.forms import DEFAULT_REASON, read_new_admin, read_suspension
from app.db import DB
from app.errors import DomainError, FormError
from app.escrow.totals import escrow_totals
from app.payments.reconciliation_console import unacknowledged_mismatches
from app.web.forms import FormData, text
from app.web.htmx import see_other
from app.web.templating import render
from app.worker.models import FailedJob
from app.worker.runner import retry_failed

PAGE_SIZE = 50


class AdminController(Controller):
    path = "/admin"
    guards = [requires_admin]

    @get("/", name="admin:index")
    async def index(self, request: Request, db: DB) -> Response:
        by_role = dict((await db.execute(select(User.role, func.count()).group_by(User.role))).all())
        failed = await db.scalar(select(func.count()).select_from(FailedJob).where(FailedJob.retried_at.is_(None)))
        events = (await db.scalars(select(AccountEvent).order_by(AccountEvent.id.desc()).limit(20))).all()
        context = {
            "by_role": by_role,
            "failed_count": failed or 0,
            "events": events,
            "mismatched_runs": await unacknowledged_mismatches(db),
            "escrow": await escrow_totals(db),
        }
        # An htmx request (the live signal of a new mismatch) gets the banner alone.
        return render(request, "admin/index.html", context, block="reconciliation_banner")

    @get("/users", name="admin:users")
    async def users(
        self, request: Request, db: DB, q: FromQuery[str | None] = None, page: FromQuery[int] = 1
    ) -> Response:
        block = "results" if request.headers.get("hx-target") == "user-results" else None
        return await self._users_page(request, db, q=q, page=page, block=block)

    async def _users_page(
        self,
        request: Request,
        db: DB,
        *,
        q: str | None = None,
        page: int = 1,
        errors: dict[str, list[str]] | None = None,
        form: dict[str, str] | None = None,
        status_code: int = 200,
        block: str | None = None,
    ) -> Response:
        """The users list; with `errors`, the same page re-rendered around a refused form."""
        query = select(User).order_by(User.id.desc())
        if q:
            like = f"%{q.strip().lower()}%"
            query = query.where(func.lower(User.email).like(like) | func.lower(User.name).like(like))
        total = await db.scalar(select(func.count()).select_from(query.subquery())) or 0
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(1, page), pages)  # past the end: the last page (and no offset the database refuses)
        rows = (await db.scalars(query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE))).all()
        context = {
            "users": rows,
            "q": q or "",
            "page": page,
            "pages": pages,
            "errors": errors or {},
            "form": form or {},
        }
        return render(request, "admin/users.html", context, block=block, status_code=status_code)

    # Suspending someone and creating an admin need a recent code, like a password change: a
    # console session left open must not be enough to lock people out or to add an admin.
    @post("/users/{user_id:int}/suspend", name="admin:suspend", guards=[requires_recent_auth])
    async def suspend(
        self, request: Request, user_id: FromPath[int], data: FormData, db: DB, user: CurrentUser
    ) -> Response:
        try:
            suspension = read_suspension(data)
            suspended = await services.suspend(db, user, user_id, suspension.reason, request=request)
        except FormError as exc:
            await db.rollback()
            # Errors and the typed reason are keyed by the row's field, so they show next to it.
            field, typed = f"reason-{user_id}", text(data, "reason") or DEFAULT_REASON
            return await self._users_page(
                request, db, errors={field: exc.errors["reason"]}, form={field: typed[:500]}, status_code=422
            )
        await db.commit()
        flash(request, f"{suspended.name} is suspended and signed out.", category="success")
        return see_other(request, request.app.route_reverse("admin:users"))

    @post("/users/{user_id:int}/reactivate", name="admin:reactivate")
    async def reactivate(self, request: Request, user_id: FromPath[int], db: DB, user: CurrentUser) -> Response:
        reactivated = await services.reactivate(db, user, user_id, request=request)
        await db.commit()
        flash(request, f"{reactivated.name} can sign in again.", category="success")
        return see_other(request, request.app.route_reverse("admin:users"))

    @post("/admins", name="admin:create-admin", guards=[requires_recent_auth])
    async def create_admin(self, request: Request, data: FormData, db: DB, state: State, user: CurrentUser) -> Response:
        try:
            new_admin = read_new_admin(data)
            await services.create_admin(db, user, new_admin, secret_key=state.settings.secret_key, request=request)
        except (FormError, DomainError) as exc:
            await db.rollback()
            errors = exc.errors if isinstance(exc, FormError) else {"email": [exc.message]}
            form = {"email": normalize_email(text(data, "email")), "name": text(data, "name")}
            return await self._users_page(request, db, errors=errors, form=form, status_code=422)
        await db.commit()
        flash(
            request,
            f"{new_admin.name} was added as an admin and will get an e-mail to set a password.",
            category="success",
        )
        return see_other(request, request.app.route_reverse("admin:users"))

    @get("/jobs", name="admin:jobs")
    async def jobs(self, request: Request, db: DB) -> Response:
        rows = (await db.scalars(select(FailedJob).order_by(FailedJob.id.desc()).limit(200))).all()
        return render(request, "admin/jobs.html", {"jobs": rows})

    @post("/jobs/{job_id:int}/retry", name="admin:retry-job")
    async def retry_job(self, request: Request, job_id: FromPath[int], state: State) -> Response:
        await retry_failed(state.sessionmaker, job_id)
        flash(request, "The job was queued again.", category="success")
        return see_other(request, request.app.route_reverse("admin:jobs"))
