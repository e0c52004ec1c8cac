"""Google and LinkedIn sign-in pages: start, callback, confirm a link, finish a new account. The
round trip's secrets and what is pending live in the session; what it does to accounts is
`oauth_signin.py`."""

from __future__ import annotations

import time
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.plugins.flash import flash

from app.accounts import forms, oauth, oauth_signin
from app.accounts.audit import Origin
from app.accounts.forms import safe_next
from app.accounts.guards import STEP_UP_SECONDS, Viewer, confirm_url, with_next
from app.accounts.oauth import Claims, Match, OAuthError, Provider
from app.accounts.oauth_signin import OAuthRefused, PendingSpent
from app.accounts.sessions import replace_session, start_session
from app.accounts.signin import SignInOutcome, awaiting_second_step
from app.db import DB
from app.errors import FormError, NotFound
from app.platform.crypto import same_secret
from app.web.forms import FormData
from app.web.htmx import see_other
from app.web.templating import render

# How long the secrets of one round trip, and a pending link or sign-up, stay usable.
PENDING_SECONDS = 15 * 60
TITLES = {
    400: "This sign-in didn't work",
    403: "You can't sign in this way",
    404: "We couldn't find that page",
    409: "We didn't sign you in",
    502: "We couldn't reach the sign-in service",
}


def _provider(request: Request, name: str) -> Provider:
    provider = oauth.find_provider(request.app.state.settings, name)
    if provider is None:
        raise NotFound()
    return provider


def _redirect_uri(request: Request, provider: Provider) -> str:
    # The registered redirect URI must match exactly, so it comes from APP_BASE_URL, not from
    # whatever Host header this request arrived with.
    path = request.app.route_reverse("oauth:callback", provider=provider.name)
    return request.app.state.settings.app_base_url + path


def _session(request: Request) -> dict[str, Any]:
    session = request.scope.get("session")
    if not isinstance(session, dict):
        session = {}
        request.scope["session"] = session  # type: ignore[typeddict-item]
    return session


def _fresh(pending: Any) -> bool:
    return isinstance(pending, dict) and time.time() - int(pending.get("at", 0)) <= PENDING_SECONDS


def _pending(request: Request, key: str) -> tuple[dict[str, Any], Provider] | None:
    """A fresh pending link or sign-up and its provider, or None."""
    pending = _session(request).get(key)
    if not _fresh(pending):
        return None
    provider = oauth.find_provider(request.app.state.settings, pending["provider"])
    return (pending, provider) if provider is not None else None


def _problem(request: Request, viewer: Viewer, message: str, status_code: int, *, title: str | None = None) -> Response:
    route = "settings:index" if viewer is not None else "accounts:login"
    context = {
        "title": title or TITLES.get(status_code, TITLES[400]),
        "message": message,
        "back_url": request.app.route_reverse(route),
        "back_label": "Back to settings" if viewer is not None else "Back to sign in",
    }
    return render(request, "accounts/oauth_error.html", context, status_code=status_code)


def _begin_pending(request: Request, key: str, data: dict[str, Any]) -> None:
    """Pre-sign-in state on a fresh session id: a planted (fixed) session id must not carry a
    verified identity that its planter could then confirm."""
    replace_session(request, {key: {**data, "at": int(time.time())}})


def _expired(request: Request) -> Response:
    flash(request, "That took too long, so we stopped for your safety. Please sign in again.", category="info")
    return see_other(request, request.app.route_reverse("accounts:login"))


async def _signed_in(request: Request, outcome: SignInOutcome, provider: Provider, target: str) -> Response:
    """Carry a successful round trip into the session: two-step users go on to their code."""
    user = outcome.user
    if outcome.second_step:
        # Same as after a correct password: not signed in until the second step passes.
        replace_session(request, awaiting_second_step(user, remember=False, next=target, method=provider.name))
        return see_other(request, request.app.route_reverse("accounts:mfa-challenge"))
    await start_session(request, user.id, user.session_epoch)
    return see_other(request, target)


class OAuthController(Controller):
    path = "/auth"

    # ------------------------------------------------------------ the round trip

    @get("/{provider:str}/start", name="oauth:start")
    async def start(
        self, request: Request, provider: FromPath[str], viewer: Viewer, next: FromQuery[str | None] = None
    ) -> Response:
        found = _provider(request, provider)
        target = safe_next(next, request.app.route_reverse("settings:index") if viewer else None)
        if viewer is not None:
            # Adding a way into the account is as sensitive as changing the password: a session
            # left open on a shared computer must not be enough.
            session = _session(request)
            last = max(int(session.get("auth_at", 0)), int(session.get("reauth_at", 0)))
            if time.time() - last > STEP_UP_SECONDS:
                if viewer.password_hash or viewer.mfa_enabled_at:
                    here = request.app.route_reverse("oauth:start", provider=found.name)
                    return see_other(request, confirm_url(with_next(here, target)))
                return _problem(
                    request,
                    viewer,
                    f"For your safety, linking {found.label} needs a recent sign-in. Sign out, sign in again, "
                    f"then link {found.label} within 10 minutes.",
                    403,
                    title=f"Sign in again to link {found.label}",
                )
        try:
            auth = await oauth.authorization_request(found, _redirect_uri(request, found))
        except OAuthError as exc:
            return _problem(request, viewer, exc.message, exc.status_code)
        _session(request)["oauth"] = {
            "provider": found.name,
            "state": auth.state,
            "nonce": auth.nonce,
            "verifier": auth.verifier,
            "next": target,
            "intent": "link" if viewer else "sign_in",
            "uid": viewer.id if viewer else None,
            "at": int(time.time()),
        }
        return see_other(request, auth.url)

    @get("/{provider:str}/callback", name="oauth:callback")
    async def callback(
        self,
        request: Request,
        provider: FromPath[str],
        db: DB,
        viewer: Viewer,
        code: FromQuery[str | None] = None,
        # "state" is a reserved handler argument in Litestar (app state), hence the rename.
        returned_state: Annotated[str | None, QueryParameter(name="state")] = None,
        error: FromQuery[str | None] = None,
    ) -> Response:
        found = _provider(request, provider)
        pending = _session(request).pop("oauth", None)  # one use, whatever happens next
        if error:
            # Usually "access_denied": the person pressed Cancel at the provider.
            flash(
                request,
                f"You didn't finish signing in with {found.label}. Try again, or use another way to sign in.",
                category="info",
            )
            if isinstance(pending, dict) and pending.get("intent") == "link" and viewer is not None:
                return see_other(request, pending.get("next") or request.app.route_reverse("settings:index"))
            return see_other(request, request.app.route_reverse("accounts:login"))
        if (
            not _fresh(pending)
            or pending.get("provider") != found.name
            or not returned_state
            or not same_secret(str(pending.get("state", "")), returned_state)
        ):
            return _problem(
                request,
                viewer,
                f"This sign-in with {found.label} didn't start in this browser, or it took too long. "
                "Nothing was changed. Please start again from the sign-in page.",
                400,
            )
        if not code:
            message = f"{found.label} didn't send the confirmation we need. Please start again."
            return _problem(request, viewer, message, 400)
        try:
            claims = await oauth.exchange_code(
                found,
                code=code,
                redirect_uri=_redirect_uri(request, found),
                verifier=pending["verifier"],
                nonce=pending["nonce"],
            )
        except OAuthError as exc:
            return _problem(request, viewer, exc.message, exc.status_code)
        if pending.get("intent") == "link":
            return await self._link_to_viewer(request, db, viewer, found, claims, pending)
        return await self._sign_in_or_offer(request, db, viewer, found, claims, pending["next"])

    @staticmethod
    async def _link_to_viewer(
        request: Request, db: DB, viewer: Viewer, provider: Provider, claims: Claims, pending: dict
    ) -> Response:
        if viewer is None or viewer.id != pending.get("uid"):
            message = "You were signed out before this finished. Sign in, then link your account again."
            return _problem(request, viewer, message, 400)
        try:
            created = await oauth_signin.link_to_owner(db, viewer, provider, claims, Origin.of(request))
        except OAuthRefused as exc:
            return _problem(request, viewer, exc.message, exc.status_code)
        if created:
            flash(request, f"You can now sign in with {provider.label}.", category="success")
        else:
            flash(request, f"This {provider.label} account was already linked to yours.", category="info")
        return see_other(request, pending.get("next") or request.app.route_reverse("settings:index"))

    @staticmethod
    async def _sign_in_or_offer(
        request: Request, db: DB, viewer: Viewer, provider: Provider, claims: Claims, target: str
    ) -> Response:
        found = await oauth.match_account(db, provider.name, claims)
        label = provider.label
        if found.kind is Match.known:
            assert found.user is not None
            try:
                outcome = await oauth_signin.finish_sign_in(db, found.user, provider, Origin.of(request))
            except OAuthRefused as exc:
                return _problem(request, viewer, exc.message, exc.status_code)
            return await _signed_in(request, outcome, provider, target)
        if found.kind is Match.link_offered:
            assert found.user is not None
            if not found.user.is_active:
                return _problem(request, viewer, oauth_signin.SUSPENDED, 403)
            _begin_pending(
                request,
                "oauth_link",
                {"provider": provider.name, "uid": found.user.id, "claims": claims.to_dict(), "next": target},
            )
            return see_other(request, request.app.route_reverse("oauth:link"))
        if found.kind is Match.new:
            pending = {"provider": provider.name, "claims": claims.to_dict(), "next": target}
            _begin_pending(request, "oauth_signup", pending)
            return see_other(request, request.app.route_reverse("oauth:signup"))
        if found.kind is Match.provider_email_unverified:
            # Never an account made or linked on an address nobody has proven: anyone can type a
            # victim's address into a provider account. Same words whether or not we know the address.
            flash(
                request,
                f"{label} hasn't confirmed that {claims.email} is your address, so we can't use it to sign you in "
                f"or to create an account. Confirm the address with {label} and try again, or use your e-mail and "
                f"password. If you have an account, you can link {label} from your settings once signed in.",
                category="error",
            )
            login = request.app.route_reverse("accounts:login")
            return see_other(request, login if target == safe_next(None) else with_next(login, target))
        messages = {
            Match.account_email_unconfirmed: (
                f"A Pactline account already uses {claims.email}, but that account never confirmed its address, so "
                f"we can't connect it to {label}. Sign in with your password (or reset it), confirm your e-mail, "
                f"then link {label} from your settings."
            ),
            Match.no_email: (
                f"{label} didn't share your e-mail address with us, and we need it for your account. "
                f"Allow access to your e-mail address at {label}, or sign up with your e-mail and password."
            ),
        }
        return _problem(request, viewer, messages[found.kind], 409)

    # ------------------------------------------------------------ linking to an existing account

    @get("/link/confirm", name="oauth:link")
    async def link_page(self, request: Request) -> Response:
        if (found := _pending(request, "oauth_link")) is None:
            return _expired(request)
        pending, provider = found
        context = {"provider_label": provider.label, "email": Claims.from_dict(pending["claims"]).email}
        return render(request, "accounts/oauth_link_confirm.html", context)

    @post("/link/confirm", name="oauth:link-confirm")
    async def link_confirm(self, request: Request, db: DB, viewer: Viewer) -> Response:
        if (found := _pending(request, "oauth_link")) is None:
            return _expired(request)
        pending, provider = found
        claims = Claims.from_dict(pending["claims"])
        try:
            outcome = await oauth_signin.confirm_link(db, provider, claims, int(pending["uid"]), Origin.of(request))
        except OAuthRefused as exc:
            if isinstance(exc, PendingSpent):
                _session(request).pop("oauth_link", None)
            return _problem(request, viewer, exc.message, exc.status_code)
        return await _signed_in(request, outcome, provider, safe_next(pending.get("next")))

    # ------------------------------------------------------------ a new account

    @staticmethod
    def _signup_page(
        request: Request, provider: Provider, claims: Claims, *, form=None, errors=None, status_code=200
    ) -> Response:
        context = {
            "provider_label": provider.label,
            "email": claims.email,
            "form": form or {"name": claims.name, "role": ""},
            "errors": errors or {},
        }
        return render(request, "accounts/oauth_signup.html", context, status_code=status_code)

    @get("/signup/complete", name="oauth:signup")
    async def signup_page(self, request: Request) -> Response:
        if (found := _pending(request, "oauth_signup")) is None:
            return _expired(request)
        pending, provider = found
        return self._signup_page(request, provider, Claims.from_dict(pending["claims"]))

    @post("/signup/complete", name="oauth:signup-complete")
    async def signup_complete(self, request: Request, data: FormData, db: DB, viewer: Viewer) -> Response:
        if (found := _pending(request, "oauth_signup")) is None:
            return _expired(request)
        pending, provider = found
        claims = Claims.from_dict(pending["claims"])
        entry = forms.read_oauth_sign_up(data)
        try:
            user = await oauth_signin.sign_up(db, provider, claims, entry, Origin.of(request))
        except FormError as exc:
            form = {"name": entry.name, "role": entry.role}
            return self._signup_page(request, provider, claims, form=form, errors=exc.errors, status_code=422)
        except PendingSpent as exc:
            _session(request).pop("oauth_signup", None)
            return _problem(request, viewer, exc.message, exc.status_code)
        await start_session(request, user.id, user.session_epoch)
        target = safe_next(pending.get("next"))
        welcome = request.app.route_reverse("pages:dashboard") + "?welcome=1"
        return see_other(request, welcome if target == safe_next(None) else target)
