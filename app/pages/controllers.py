"""The landing page and the role home at /dashboard."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, get
from litestar.params import FromQuery, Parameter

from app.accounts.guards import CurrentUser, requires_login, requires_role
from app.accounts.models import Role
from app.contracts.terms import PlatformFee
from app.db import DB
from app.escrow.views import dashboard_milestones
from app.pages.services import client_home, contractor_home, jobs_matched_since
from app.web.htmx import see_other
from app.web.templating import render

# Epoch milliseconds of 9999-12-31: a later `since` is refused (400) before it reaches datetime.
LATEST_MS = 253_402_300_799_000


class LandingController(Controller):
    path = "/"

    @get("/", name="pages:landing", sync_to_thread=False)
    def landing(self, request: Request) -> Response:
        # The fee a contract sent today carries, said before sign-up so nobody meets it first in a contract.
        return render(request, "pages/landing.html", {"fee": PlatformFee.current(request.app.state.settings)})


class DashboardController(Controller):
    path = "/dashboard"

    @get("/", name="pages:dashboard", guards=[requires_login])
    async def dashboard(
        self, request: Request, db: DB, user: CurrentUser, welcome: FromQuery[str | None] = None
    ) -> Response:
        """Each role's home: admins go to the console, clients and contractors to their dashboard."""
        if user.role == Role.admin:
            return see_other(request, request.app.route_reverse("admin:index"))
        home = await (client_home(db, user) if user.role == Role.client else contractor_home(db, user))
        return render(request, "pages/dashboard.html", {"welcome": bool(welcome), **home})

    @get("/milestones", name="pages:milestones", guards=[requires_role(Role.client, Role.contractor)])
    async def milestones(self, request: Request, db: DB, user: CurrentUser) -> Response:
        """The dashboard's milestones that wait for someone; re-fetched on each live event of the
        person's active contracts (a milestone funded, submitted, answered or released)."""
        return render(request, "pages/_milestones.html", await dashboard_milestones(db, user))

    @get("/matches", name="pages:job-matches", guards=[requires_role(Role.contractor)])
    async def job_matches(
        self, request: Request, db: DB, user: CurrentUser, since: Annotated[int, Parameter(ge=0, le=LATEST_MS)] = 0
    ) -> Response:
        """The dashboard's live list of new jobs matching the contractor's skills, opened after `since`
        (epoch milliseconds, set when the dashboard was rendered). Re-fetched on each "job-match" signal."""
        matched = await jobs_matched_since(db, user, since)
        return render(request, "pages/_job_matches.html", {"since": since, "matched": matched})
