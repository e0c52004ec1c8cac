"""Sign-in (with two-step), sign-out, sign-up, e-mail verification and password reset pages.
Each handler reads its form (`forms.py`), calls one verb (`signin.py`, `services.py`) and renders;
it also carries the verb's outcome into the session (a fresh id at every sign-in)."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery
from litestar.plugins.flash import flash

from app.accounts import forms, services, signin
from app.accounts.audit import Origin
from app.accounts.forms import safe_next
from app.accounts.guards import CurrentUser, Viewer, requires_login
from app.accounts.limits import TooManyAttempts, limiter, minutes
from app.accounts.models import TokenPurpose
from app.accounts.oauth import all_providers
from app.accounts.passwords_policy import MAX_LENGTH, MIN_LENGTH, StrengthBusy
from app.accounts.sessions import end_session, replace_session, start_session
from app.accounts.tokens import find_one_time_token
from app.db import DB
from app.errors import DomainError, FormError
from app.web.errors import error_response
from app.web.forms import FormData, text
from app.web.htmx import see_other
from app.web.templating import render

NOTICES = {
    "suspended": signin.SUSPENDED,
    "reset": "Your password was changed. Sign in with the new one.",
    "verified": "Your e-mail address is confirmed. Sign in to continue.",
}


def oauth_providers(request: Request) -> list[tuple[str, str]]:
    """The provider buttons a page shows: those with a client id and secret."""
    settings = request.app.state.settings
    providers = []
    if settings.google_client_id and settings.google_client_secret:
        providers.append(("google", "Google"))
    if settings.linkedin_client_id and settings.linkedin_client_secret:
        providers.append(("linkedin", "LinkedIn"))
    return providers


def _session(request: Request) -> dict[str, Any]:
    return request.scope.get("session") or {}  # type: ignore[return-value]


class SignInController(Controller):
    path = "/login"

    @staticmethod
    def _page(
        request: Request, *, form=None, errors=None, next_url=None, status_code=200, headers=None, notice=None
    ) -> Response:
        context = {
            "form": form or {},
            "errors": errors or {},
            "next": next_url or safe_next(None),
            "notice": notice,
            "oauth_providers": oauth_providers(request),
        }
        return render(request, "accounts/login.html", context, status_code=status_code, headers=headers)

    @get("/", name="accounts:login")
    async def login_page(
        self,
        request: Request,
        viewer: Viewer,
        next: FromQuery[str | None] = None,
        reason: FromQuery[str | None] = None,
    ) -> Response:
        if viewer is not None:
            return see_other(request, safe_next(next))
        return self._page(request, next_url=safe_next(next), notice=NOTICES.get(reason or ""))

    @post("/", name="accounts:login-submit", opt={"form_template": "accounts/login.html"})
    async def login_submit(self, request: Request, data: FormData, db: DB) -> Response:
        form, target = forms.shown(data, "email"), forms.read_next(data)
        try:
            entry = forms.read_sign_in(data)
            outcome = await signin.sign_in(db, limiter(request), entry, Origin.of(request))
        except FormError as exc:
            return self._page(request, form=form, errors=exc.errors, next_url=target, status_code=422)
        except TooManyAttempts as exc:
            errors = {"form": [exc.message]}
            return self._page(request, form=form, errors=errors, next_url=target, status_code=429, headers=exc.headers)
        user = outcome.user
        if outcome.second_step:
            replace_session(request, signin.awaiting_second_step(user, remember=entry.remember, next=target))
            return see_other(request, request.app.route_reverse("accounts:mfa-challenge"))
        await start_session(request, user.id, user.session_epoch, remember=entry.remember)
        return see_other(request, target)

    @get("/mfa", name="accounts:mfa-challenge")
    async def mfa_challenge(
        self, request: Request, db: DB, viewer: Viewer, next: FromQuery[str | None] = None
    ) -> Response:
        if await signin.second_step_user(db, _session(request), viewer) is None:
            return see_other(request, request.app.route_reverse("accounts:login"))
        target = safe_next(next or _session(request).get("next"))
        return render(request, "accounts/mfa_challenge.html", {"errors": {}, "next": target})

    @post("/mfa", name="accounts:mfa-challenge-submit")
    async def mfa_challenge_submit(
        self, request: Request, data: FormData, db: DB, state: State, viewer: Viewer
    ) -> Response:
        session = dict(_session(request))
        user = await signin.second_step_user(db, session, viewer)
        if user is None:
            return see_other(request, request.app.route_reverse("accounts:login"))
        target = safe_next(text(data, "next") or session.get("next"))
        try:
            await signin.pass_second_step(
                db,
                limiter(request),
                user,
                forms.read_second_step(data),
                secret_key=state.settings.secret_key,
                first_step=session.get("method", "password"),
                origin=Origin.of(request),
            )
        except FormError as exc:
            context = {"errors": exc.errors, "next": target}
            return render(request, "accounts/mfa_challenge.html", context, status_code=422)
        except TooManyAttempts as exc:
            context = {"errors": {"form": [exc.message]}, "next": target}
            return render(request, "accounts/mfa_challenge.html", context, status_code=429, headers=exc.headers)
        now = int(time.time())
        remember = bool(session.get("remember"))
        extra = {"mfa_at": now, "reauth_at": now}
        await start_session(request, user.id, user.session_epoch, remember=remember, extra=extra)
        return see_other(request, target)


class SignOutController(Controller):
    path = "/logout"

    @post("/", name="accounts:logout")
    async def logout(self, request: Request) -> Response:
        end_session(request.scope)
        return see_other(request, request.app.route_reverse("pages:landing"))


class SignUpController(Controller):
    path = "/signup"

    @staticmethod
    def _page(request: Request, *, form=None, errors=None, status_code=200, headers=None) -> Response:
        context = {
            "form": form or {"role": "client"},
            "errors": errors or {},
            "min_length": MIN_LENGTH,
            "oauth_providers": oauth_providers(request),
        }
        return render(request, "accounts/signup.html", context, status_code=status_code, headers=headers)

    @get("/", name="accounts:signup")
    async def signup_page(
        self,
        request: Request,
        viewer: Viewer,
        role: FromQuery[str | None] = None,
        email: FromQuery[str | None] = None,
        next: FromQuery[str | None] = None,
    ) -> Response:
        if viewer is not None:
            return see_other(request, safe_next(next))
        form = {
            "role": role if role in ("client", "contractor") else "client",
            "email": email or "",
            "next": safe_next(next, ""),
        }
        return self._page(request, form=form)

    @post("/", name="accounts:signup-submit", opt={"form_template": "accounts/signup.html"})
    async def signup_submit(self, request: Request, data: FormData, db: DB) -> Response:
        form = {**forms.shown(data, "name", "email", "role"), "next": forms.read_next(data, "")}
        try:
            entry = forms.read_sign_up(data)
            user = await services.sign_up(db, limiter(request), entry, Origin.of(request))
        except FormError as exc:
            return self._page(request, form=form, errors=exc.errors, status_code=422)
        except TooManyAttempts as exc:
            return self._page(request, form=form, errors={"form": [exc.message]}, status_code=429, headers=exc.headers)
        await start_session(request, user.id, user.session_epoch)
        welcome = request.app.route_reverse("pages:dashboard") + "?welcome=1"
        return see_other(request, entry.next or welcome)

    @post("/password-strength", name="accounts:password-strength")
    async def password_strength(self, request: Request, data: FormData) -> Response:
        """Live hint under the password field while typing (htmx, debounced)."""
        entry = forms.read_password_hint(data)
        found, busy = None, False
        try:
            found = await services.password_hint(limiter(request), entry, Origin.of(request))
        except TooManyAttempts as exc:
            return error_response(
                request,
                429,
                f"The live strength check is paused for {minutes(exc.verdict)}. "
                "Your password is still checked when you create your account.",
                headers=exc.headers,
            )
        except StrengthBusy:
            busy = True
        context = {
            "strength": found,
            "busy": busy,
            "length": len(entry.password),
            "min_length": MIN_LENGTH,
            "max_length": MAX_LENGTH,
        }
        return render(request, "accounts/_password_strength.html", context)


class EmailVerificationController(Controller):
    path = "/verify-email"

    @get("/{token:str}", name="accounts:verify-email")
    async def verify_email(
        self, request: Request, token: FromPath[str], db: DB, state: State, viewer: Viewer
    ) -> Response:
        try:
            await services.verify_email(db, state.settings.secret_key, token, Origin.of(request))
        except services.LinkRefused as exc:
            return render(
                request, "accounts/verify_result.html", {"ok": False, "problem": exc.problem}, status_code=400
            )
        return render(request, "accounts/verify_result.html", {"ok": True, "signed_in": viewer is not None})

    @post("/resend", name="accounts:verify-resend", guards=[requires_login])
    async def resend_verification(self, request: Request, db: DB, user: CurrentUser) -> Response:
        try:
            await services.resend_verification(db, limiter(request), user)
        except services.AlreadyVerified as exc:
            flash(request, exc.message, category="info")
        except TooManyAttempts as exc:
            flash(request, exc.message, category="warning")
        else:
            flash(request, f"We sent a new confirmation link to {user.email}.", category="success")
        return see_other(request, safe_next(_referer_path(request)))


def _referer_path(request: Request) -> str | None:
    try:
        return urlsplit(request.headers.get("referer", "")).path or None
    except ValueError:  # a Referer that is not a URL
        return None


class PasswordResetController(Controller):
    path = "/reset"

    @get("/", name="accounts:reset")
    async def reset_page(self, request: Request) -> Response:
        return render(request, "accounts/reset_request.html", {"form": {}, "errors": {}})

    @post("/", name="accounts:reset-submit")
    async def reset_submit(self, request: Request, data: FormData, db: DB, state: State) -> Response:
        form = forms.shown(data, "email")
        try:
            entry = forms.read_reset_request(data)
            await services.request_password_reset(
                db, limiter(request), entry, state.settings.secret_key, Origin.of(request)
            )
        except FormError as exc:
            return render(request, "accounts/reset_request.html", {"form": form, "errors": exc.errors}, status_code=422)
        except TooManyAttempts as exc:
            context = {"form": form, "errors": {"form": [exc.message]}}
            return render(request, "accounts/reset_request.html", context, status_code=429, headers=exc.headers)
        # The same answer whether or not the address has an account.
        return render(request, "accounts/reset_sent.html", {"email": entry.email})

    @staticmethod
    def _form(request: Request, token: str, *, valid: bool, errors=None, status_code: int = 200) -> Response:
        context = {"token": token, "valid": valid, "errors": errors or {}, "min_length": MIN_LENGTH}
        return render(request, "accounts/reset_form.html", context, status_code=status_code)

    @get("/{token:str}", name="accounts:reset-form")
    async def reset_form(self, request: Request, token: FromPath[str], db: DB) -> Response:
        valid = await find_one_time_token(db, token, TokenPurpose.password_reset) is not None
        return self._form(request, token, valid=valid, status_code=200 if valid else 400)

    @post("/{token:str}", name="accounts:reset-form-submit")
    async def reset_form_submit(
        self, request: Request, token: FromPath[str], data: FormData, db: DB, state: State
    ) -> Response:
        try:
            unlinked = await services.reset_password(db, token, forms.read_new_password(data), Origin.of(request))
        except FormError as exc:
            return self._form(request, token, valid=True, errors=exc.errors, status_code=422)
        except DomainError as exc:
            return self._form(request, token, valid=False, errors={"form": [exc.message]}, status_code=400)
        if unlinked:
            # A fresh, empty session that only carries the message to the sign-in page.
            replace_session(request, {})
            labels = {p.name: p.label for p in all_providers(state.settings)}
            names = " and ".join(labels.get(name, name) for name in unlinked)
            flash(
                request,
                f"For your safety we also disconnected {names} sign-in from your account: it was connected by "
                "matching e-mail address, not by you while signed in. You can connect it again in your settings.",
                category="warning",
            )
        else:
            end_session(request.scope)
        return see_other(request, request.app.route_reverse("accounts:login") + "?reason=reset")
