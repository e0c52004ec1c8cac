"""/settings/notifications: which kinds reach a person in the app and by e-mail, and the daily digest."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.plugins.flash import flash

from app.accounts.guards import CurrentUser, requires_login
from app.db import DB
from app.notifications import preferences
from app.web.forms import FormData
from app.web.htmx import see_other
from app.web.templating import render


class NotificationPreferencesController(Controller):
    path = "/settings/notifications"
    guards = [requires_login]

    @get("/", name="settings:notifications")
    async def preferences_page(self, request: Request, db: DB, user: CurrentUser) -> Response:
        context = {
            "prefs": await preferences.load(db, user),
            "in_app_field": preferences.in_app_field,
            "email_field": preferences.email_field,
            "DIGEST_DAILY": preferences.DIGEST_DAILY,
            "DIGEST_OFF": preferences.DIGEST_OFF,
        }
        return render(request, "notifications/preferences.html", context)

    @post("/", name="settings:notifications-save")
    async def save_preferences(self, request: Request, data: FormData, db: DB, user: CurrentUser) -> Response:
        await preferences.save(db, user, preferences.read_form(data, user))
        flash(request, "Your notification choices were saved.", category="success")
        return see_other(request, request.app.route_reverse("settings:notifications"))
