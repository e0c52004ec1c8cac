"""The landing page and the role home at /dashboard."""

from __future__ import annotations

from litestar import Request, Response, get
from litestar.params import FromQuery

from app.accounts.guards import requires_login
from app.accounts.models import Role
from app.db import DB
from app.pages.services import client_home, contractor_home
from app.web.htmx import see_other
from app.web.templating import render


@get("/", name="pages:landing", sync_to_thread=False)
def landing(request: Request) -> Response:
    return render(request, "pages/landing.html")


@get("/dashboard", name="pages:dashboard", guards=[requires_login])
async def dashboard(request: Request, db: DB, welcome: FromQuery[str | None] = None) -> Response:
    """Each role's home: admins go to the console, clients and contractors to their dashboard."""
    user = request.scope["user"]
    if user.role == Role.admin:
        return see_other(request, "/admin")
    home = await (client_home(db, user) if user.role == Role.client else contractor_home(db, user))
    return render(request, "pages/dashboard.html", {"welcome": bool(welcome), **home})
