"""Account settings pages: name, e-mail, password, signed-in devices, two-step sign-in, step-up.
Each handler reads its form (`forms.py`), calls one verb and renders."""

from __future__ import annotations

import time

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery
from litestar.plugins.flash import flash
from sqlalchemy import select

from app.accounts import forms, mfa, services, signin
from app.accounts.audit import Origin
from app.accounts.controllers import oauth_providers
from app.accounts.forms import safe_next
from app.accounts.guards import STEP_UP_SECONDS, CurrentUser, requires_login, requires_recent_auth
from app.accounts.limits import TooManyAttempts, limiter
from app.accounts.models import OAuthIdentity
from app.accounts.passwords_policy import MIN_LENGTH
from app.accounts.sessions import list_devices, revoke_device, revoke_other_devices, start_session
from app.db import DB
from app.errors import DomainError, FormError, NotFound
from app.web.forms import FormData
from app.web.htmx import see_other
from app.web.templating import render


def _settings_path(request: Request) -> str:
    return request.app.route_reverse("settings:index")


class SettingsController(Controller):
    path = "/settings"
    guards = [requires_login]

    @staticmethod
    async def _page(
        request: Request, db: DB, user: CurrentUser, *, errors=None, form=None, status_code=200
    ) -> Response:
        linked = await db.scalars(select(OAuthIdentity.provider).where(OAuthIdentity.user_id == user.id))
        context = {
            "errors": errors or {},
            "form": form or {},
            "devices": await list_devices(request, user.id),
            "recovery_left": await mfa.remaining_recovery_codes(db, user) if user.mfa_enabled_at else 0,
            "min_length": MIN_LENGTH,
            "oauth_providers": oauth_providers(request),
            "linked_providers": set(linked.all()),
            "time_zones": forms.time_zones(),
            "recently_confirmed": time.time() - int(request.scope["session"].get("reauth_at", 0)) <= STEP_UP_SECONDS,
        }
        return render(request, "accounts/settings.html", context, status_code=status_code)

    @get("/", name="settings:index")
    async def settings_page(self, request: Request, db: DB, user: CurrentUser) -> Response:
        return await self._page(request, db, user)

    @post("/profile", name="settings:profile")
    async def update_profile(self, request: Request, data: FormData, db: DB, user: CurrentUser) -> Response:
        try:
            await services.rename(db, user, forms.read_name(data))
        except FormError as exc:
            form = forms.shown(data, "name")
            return await self._page(request, db, user, errors=exc.errors, form=form, status_code=422)
        flash(request, "Your name was saved.", category="success")
        return see_other(request, _settings_path(request))

    @post("/time-zone", name="settings:time-zone")
    async def update_time_zone(self, request: Request, data: FormData, db: DB, user: CurrentUser) -> Response:
        try:
            entry = forms.read_time_zone(data)
        except FormError as exc:
            form = {"time_zone": forms.text(data, "time_zone")[:64]}
            return await self._page(request, db, user, errors=exc.errors, form=form, status_code=422)
        await services.set_time_zone(db, user, entry)
        flash(request, f"Your time zone is now {entry.time_zone}.", category="success")
        return see_other(request, _settings_path(request))

    @post("/email", name="settings:email", guards=[requires_recent_auth])
    async def change_email(self, request: Request, data: FormData, db: DB, state: State, user: CurrentUser) -> Response:
        try:
            entry = forms.read_email_change(data)
        except FormError as exc:
            return await self._page(request, db, user, errors=exc.errors, status_code=422)
        try:
            await services.request_email_change(db, user, entry, state.settings.secret_key, Origin.of(request))
        except FormError as exc:
            form = {"email": entry.email}
            return await self._page(request, db, user, errors=exc.errors, form=form, status_code=422)
        message = f"We sent a confirmation link to {entry.email}. Your address changes when you open it."
        flash(request, message, category="info")
        return see_other(request, _settings_path(request))

    @get("/email/confirm/{token:str}", name="settings:email-confirm")
    async def confirm_email_change(self, request: Request, token: FromPath[str], db: DB, user: CurrentUser) -> Response:
        try:
            new_email = await services.confirm_email_change(db, user, token, Origin.of(request))
        except services.LinkRefused as exc:
            context = {"ok": False, "problem": exc.problem}
            return render(request, "accounts/verify_result.html", context, status_code=exc.status_code)
        flash(request, f"Your e-mail address is now {new_email}.", category="success")
        return see_other(request, _settings_path(request))

    @post("/password", name="settings:password", guards=[requires_recent_auth])
    async def change_password(self, request: Request, data: FormData, db: DB, user: CurrentUser) -> Response:
        try:
            me = await services.change_password(db, user, forms.read_password_change(data), Origin.of(request))
        except FormError as exc:
            return await self._page(request, db, user, errors=exc.errors, status_code=422)
        # Every other session is now dead (epoch bumped); this browser gets a fresh one.
        await revoke_other_devices(request, me.id)
        session = request.scope.get("session") or {}
        extra = {k: session[k] for k in ("mfa_at", "reauth_at") if k in session}
        await start_session(request, me.id, me.session_epoch, extra=extra)
        flash(request, "Your password was changed. Other devices were signed out.", category="success")
        return see_other(request, _settings_path(request))


class DevicesController(Controller):
    path = "/settings/sessions"
    guards = [requires_login]

    @post("/revoke", name="settings:revoke-session")
    async def revoke_session(self, request: Request, data: FormData, user: CurrentUser) -> Response:
        """The device handle travels in the form body, so it stays out of URLs and access logs."""
        if not await revoke_device(request, user.id, forms.read_device(data).handle):
            raise NotFound()
        flash(request, "That device was signed out.", category="success")
        return see_other(request, _settings_path(request))

    @post("/sign-out-others", name="settings:revoke-other-sessions")
    async def revoke_other_sessions(self, request: Request, user: CurrentUser) -> Response:
        count = await revoke_other_devices(request, user.id)
        message = "Your other devices were signed out." if count else "You were not signed in anywhere else."
        flash(request, message, category="success" if count else "info")
        return see_other(request, _settings_path(request))


# Turning two-step sign-in on needs a recent confirmation too: someone holding a stolen session
# could otherwise bind the account to their own authenticator and lock its owner out.
class TwoStepController(Controller):
    path = "/settings/mfa"
    guards = [requires_recent_auth]

    @staticmethod
    def _setup_page(
        request: Request, user: CurrentUser, secret: str, *, errors=None, required=False, next_url: str
    ) -> Response:
        context = {
            "qr_svg": mfa.qr_svg(mfa.provisioning_uri(secret, user.email)),
            "secret": secret,
            "errors": errors or {},
            "required": required,
            "next": next_url,
        }
        return render(request, "accounts/mfa_setup.html", context, status_code=422 if errors else 200)

    @get("/", name="settings:mfa")
    async def mfa_setup(
        self,
        request: Request,
        user: CurrentUser,
        required: FromQuery[str | None] = None,
        next: FromQuery[str | None] = None,
    ) -> Response:
        if user.mfa_enabled_at is not None:
            return see_other(request, _settings_path(request))
        session = request.scope["session"]
        secret = session.get("mfa_setup_secret") or mfa.new_secret()
        session["mfa_setup_secret"] = secret
        return self._setup_page(
            request, user, secret, required=bool(required), next_url=safe_next(next, _settings_path(request))
        )

    @post("/", name="settings:mfa-confirm")
    async def mfa_confirm(self, request: Request, data: FormData, db: DB, state: State, user: CurrentUser) -> Response:
        session = request.scope["session"]
        secret = session.get("mfa_setup_secret")
        if not secret:
            return see_other(request, request.app.route_reverse("settings:mfa"))
        target = forms.read_next(data, _settings_path(request))
        try:
            codes = await mfa.confirm_enrolment(
                db,
                limiter(request),
                user,
                secret,
                forms.read_code(data).code,
                secret_key=state.settings.secret_key,
                origin=Origin.of(request),
            )
        except FormError as exc:
            return self._setup_page(request, user, secret, errors=exc.errors, next_url=target)
        if codes is None:
            return see_other(request, request.app.route_reverse("settings:mfa"))
        session.pop("mfa_setup_secret", None)
        now = int(time.time())
        # Turning on MFA is a privilege change: new session id, now counted as two-step signed in.
        await start_session(request, user.id, user.session_epoch, extra={"mfa_at": now, "reauth_at": now})
        return render(request, "accounts/mfa_recovery_codes.html", {"codes": codes, "next": target})

    @post("/recovery-codes", name="settings:mfa-codes")
    async def mfa_new_codes(self, request: Request, db: DB, user: CurrentUser) -> Response:
        codes = await mfa.renew_recovery_codes(db, user, Origin.of(request))
        if codes is None:
            return see_other(request, request.app.route_reverse("settings:mfa"))
        return render(request, "accounts/mfa_recovery_codes.html", {"codes": codes, "next": _settings_path(request)})

    @post("/disable", name="settings:mfa-disable")
    async def mfa_disable(self, request: Request, db: DB, user: CurrentUser) -> Response:
        try:
            await mfa.turn_off(db, user, Origin.of(request))
        except DomainError as exc:
            flash(request, exc.message, category="error")
            return see_other(request, _settings_path(request))
        request.scope["session"].pop("mfa_at", None)
        flash(request, "Two-step sign-in is off.", category="warning")
        return see_other(request, _settings_path(request))


class StepUpController(Controller):
    """Sensitive changes ask again: the authenticator code when two-step is on, else the password."""

    path = "/settings/confirm"
    guards = [requires_login]

    @get("/", name="settings:confirm")
    async def confirm_page(self, request: Request, next: FromQuery[str | None] = None) -> Response:
        context = {
            "errors": {},
            "next": safe_next(next, _settings_path(request)),
            "oauth_providers": oauth_providers(request),
        }
        return render(request, "accounts/confirm.html", context)

    @post("/", name="settings:confirm-submit")
    async def confirm_submit(
        self, request: Request, data: FormData, db: DB, state: State, user: CurrentUser
    ) -> Response:
        page = {"next": forms.read_next(data, _settings_path(request)), "oauth_providers": oauth_providers(request)}
        try:
            entry = forms.read_confirm(data)
            await signin.confirm_identity(db, limiter(request), user, entry, secret_key=state.settings.secret_key)
        except FormError as exc:
            return render(request, "accounts/confirm.html", {**page, "errors": exc.errors}, status_code=422)
        except TooManyAttempts as exc:
            context = {**page, "errors": {"form": [exc.message]}}
            return render(request, "accounts/confirm.html", context, status_code=429, headers=exc.headers)
        request.scope["session"]["reauth_at"] = int(time.time())
        return see_other(request, page["next"])
