"""Google and LinkedIn sign-in pages: start, callback, confirm a link, finish a new account."""

from __future__ import annotations

import time
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.plugins.flash import flash

from app.accounts import oauth
from app.accounts.audit import record_event
from app.accounts.controllers import safe_next
from app.accounts.guards import STEP_UP_SECONDS, confirm_url
from app.accounts.models import User
from app.accounts.oauth import Claims, Match, OAuthError, Provider
from app.accounts.sessions import rotate_session, start_session
from app.db import DB
from app.errors import DomainError, FormError, NotFound
from app.platform.crypto import same_secret
from app.web.forms import FormData, text
from app.web.htmx import see_other
from app.web.templating import render

# How long the secrets of one round trip, and a pending link or sign-up, stay usable.
PENDING_SECONDS = 15 * 60
SUSPENDED = (
    "Your account is suspended, so you can't sign in. If you think this is a mistake, write to support@pactline.test."
)


# ---------------------------------------------------------------- small helpers


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


def _problem(request: Request, message: str, status_code: int, *, title: str | None = None) -> Response:
    titles = {
        400: "This sign-in didn't work",
        403: "You can't sign in this way",
        404: "We couldn't find that page",
        409: "We didn't sign you in",
        502: "We couldn't reach the sign-in service",
    }
    signed_in = request.scope.get("user") is not None
    return render(
        request,
        "accounts/oauth_error.html",
        {
            "title": title or titles.get(status_code, titles[400]),
            "message": message,
            "back_url": "/settings" if signed_in else "/login",
            "back_label": "Back to settings" if signed_in else "Back to sign in",
        },
        status_code=status_code,
    )


def _begin_pending(request: Request, key: str, data: dict[str, Any]) -> None:
    """Pre-sign-in state on a fresh session id: a planted (fixed) session id must not carry a
    verified identity that its planter could then confirm."""
    rotate_session(request)
    request.scope["session"] = {key: {**data, "at": int(time.time())}}  # type: ignore[typeddict-item]


async def _signed_in(request: Request, db: DB, user: User, provider: Provider, target: str) -> Response:
    """The end of every successful round trip: two-step users go on to their code."""
    if not user.is_active:
        await db.rollback()
        return _problem(request, SUSPENDED, 403)
    if user.mfa_enabled_at is not None:
        # Same as after a correct password: not signed in until the second step passes.
        await db.commit()
        rotate_session(request)
        request.scope["session"] = {  # type: ignore[typeddict-item]
            "mfa_pending_uid": user.id,
            "mfa_pending_at": int(time.time()),
            "remember": False,
            "next": target,
            "method": provider.name,
        }
        return see_other(request, "/login/mfa")
    await record_event(db, "signed_in", user_id=user.id, request=request, method=provider.name)
    await db.commit()
    await start_session(request, user.id, user.session_epoch)
    return see_other(request, target)


# ---------------------------------------------------------------- the round trip


@get("/auth/{provider:str}/start", name="oauth:start")
async def start(request: Request, provider: FromPath[str], next: FromQuery[str | None] = None) -> Response:
    found = _provider(request, provider)
    user = request.scope.get("user")
    target = safe_next(next, "/settings" if user else "/dashboard")
    if user is not None:
        # Adding a way into the account is as sensitive as changing the password: a session
        # left open on a shared computer must not be enough.
        session = _session(request)
        last = max(int(session.get("auth_at", 0)), int(session.get("reauth_at", 0)))
        if time.time() - last > STEP_UP_SECONDS:
            if user.password_hash or user.mfa_enabled_at:
                return see_other(request, confirm_url(f"/auth/{found.name}/start?next={quote(target, safe='/')}"))
            return _problem(
                request,
                f"For your safety, linking {found.label} needs a recent sign-in. Sign out, sign in again, "
                f"then link {found.label} within 10 minutes.",
                403,
                title=f"Sign in again to link {found.label}",
            )
    try:
        auth = await oauth.authorization_request(found, _redirect_uri(request, found))
    except OAuthError as exc:
        return _problem(request, exc.message, exc.status_code)
    _session(request)["oauth"] = {
        "provider": found.name,
        "state": auth.state,
        "nonce": auth.nonce,
        "verifier": auth.verifier,
        "next": target,
        "intent": "link" if user else "sign_in",
        "uid": user.id if user else None,
        "at": int(time.time()),
    }
    return see_other(request, auth.url)


@get("/auth/{provider:str}/callback", name="oauth:callback")
async def callback(
    request: Request,
    provider: FromPath[str],
    db: DB,
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
        if isinstance(pending, dict) and pending.get("intent") == "link" and request.scope.get("user") is not None:
            return see_other(request, pending.get("next") or "/settings")
        return see_other(request, "/login")
    if (
        not _fresh(pending)
        or pending.get("provider") != found.name
        or not returned_state
        or not same_secret(str(pending.get("state", "")), returned_state)
    ):
        return _problem(
            request,
            f"This sign-in with {found.label} didn't start in this browser, or it took too long. "
            "Nothing was changed. Please start again from the sign-in page.",
            400,
        )
    if not code:
        return _problem(request, f"{found.label} didn't send the confirmation we need. Please start again.", 400)
    try:
        claims = await oauth.exchange_code(
            found,
            code=code,
            redirect_uri=_redirect_uri(request, found),
            verifier=pending["verifier"],
            nonce=pending["nonce"],
        )
    except OAuthError as exc:
        return _problem(request, exc.message, exc.status_code)
    if pending.get("intent") == "link":
        return await _link_to_current_user(request, db, found, claims, pending)
    return await _sign_in_or_offer(request, db, found, claims, pending["next"])


async def _link_to_current_user(
    request: Request, db: DB, provider: Provider, claims: Claims, pending: dict
) -> Response:
    user = request.scope.get("user")
    if user is None or user.id != pending.get("uid"):
        return _problem(
            request, "You were signed out before this finished. Sign in, then link your account again.", 400
        )
    try:
        # Linked by the owner while signed in (with a recent confirmation): confirmed.
        _, created = await oauth.link_identity(db, user, provider, claims, confirmed=True)
    except DomainError as exc:
        await db.rollback()
        return _problem(request, exc.message, 409)
    if created:
        await record_event(
            db, "oauth_linked", user_id=user.id, request=request, provider=provider.name, email=claims.email
        )
        flash(request, f"You can now sign in with {provider.label}.", category="success")
    else:
        flash(request, f"This {provider.label} account was already linked to yours.", category="info")
    await db.commit()
    return see_other(request, pending.get("next") or "/settings")


async def _sign_in_or_offer(request: Request, db: DB, provider: Provider, claims: Claims, target: str) -> Response:
    found = await oauth.match_account(db, provider.name, claims)
    label = provider.label
    if found.kind is Match.known:
        assert found.user is not None
        return await _signed_in(request, db, found.user, provider, target)
    if found.kind is Match.link_offered:
        assert found.user is not None
        if not found.user.is_active:
            return _problem(request, SUSPENDED, 403)
        _begin_pending(
            request,
            "oauth_link",
            {"provider": provider.name, "uid": found.user.id, "claims": claims.to_dict(), "next": target},
        )
        return see_other(request, request.app.route_reverse("oauth:link"))
    if found.kind is Match.new:
        _begin_pending(request, "oauth_signup", {"provider": provider.name, "claims": claims.to_dict(), "next": target})
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
        return see_other(request, "/login" if target == "/dashboard" else f"/login?next={quote(target, safe='/')}")
    messages = {
        Match.account_email_unconfirmed: (
            f"A Pactline account already uses {claims.email}, but that account never confirmed its address, so we "
            f"can't connect it to {label}. Sign in with your password (or reset it), confirm your e-mail, "
            f"then link {label} from your settings."
        ),
        Match.no_email: (
            f"{label} didn't share your e-mail address with us, and we need it for your account. "
            f"Allow access to your e-mail address at {label}, or sign up with your e-mail and password."
        ),
    }
    return _problem(request, messages[found.kind], 409)


# ---------------------------------------------------------------- linking to an existing account


def _pending(request: Request, key: str) -> dict[str, Any] | None:
    pending = _session(request).get(key)
    return pending if _fresh(pending) else None


def _expired(request: Request) -> Response:
    flash(request, "That took too long, so we stopped for your safety. Please sign in again.", category="info")
    return see_other(request, "/login")


@get("/auth/link/confirm", name="oauth:link")
async def link_page(request: Request) -> Response:
    pending = _pending(request, "oauth_link")
    provider = oauth.find_provider(request.app.state.settings, pending["provider"]) if pending else None
    if pending is None or provider is None:
        return _expired(request)
    return render(
        request,
        "accounts/oauth_link_confirm.html",
        {"provider_label": provider.label, "email": Claims.from_dict(pending["claims"]).email},
    )


@post("/auth/link/confirm", name="oauth:link-confirm")
async def link_confirm(request: Request, db: DB) -> Response:
    pending = _pending(request, "oauth_link")
    provider = oauth.find_provider(request.app.state.settings, pending["provider"]) if pending else None
    if pending is None or provider is None:
        return _expired(request)
    claims = Claims.from_dict(pending["claims"])
    user = await db.get(User, int(pending["uid"]), with_for_update=True)
    # Re-check what made the offer valid: the address may have changed since the page was shown.
    match = await oauth.match_account(db, provider.name, claims)
    if user is None or match.kind is not Match.link_offered or match.user is None or match.user.id != user.id:
        await db.rollback()
        _session(request).pop("oauth_link", None)
        return _problem(
            request, "Your account changed while you were deciding, so nothing was linked. Please sign in again.", 409
        )
    if not user.is_active:
        await db.rollback()
        return _problem(request, SUSPENDED, 403)
    try:
        # Linked by matching e-mail, by someone not signed in to the account: not confirmed.
        await oauth.link_identity(db, user, provider, claims, confirmed=False)
    except DomainError as exc:
        await db.rollback()
        return _problem(request, exc.message, 409)
    await record_event(db, "oauth_linked", user_id=user.id, request=request, provider=provider.name, email=claims.email)
    return await _signed_in(request, db, user, provider, safe_next(pending.get("next")))


# ---------------------------------------------------------------- a new account


def _signup_page(
    request: Request, provider: Provider, claims: Claims, *, form=None, errors=None, status_code=200
) -> Response:
    return render(
        request,
        "accounts/oauth_signup.html",
        {
            "provider_label": provider.label,
            "email": claims.email,
            "form": form or {"name": claims.name, "role": ""},
            "errors": errors or {},
        },
        status_code=status_code,
    )


@get("/auth/signup/complete", name="oauth:signup")
async def signup_page(request: Request) -> Response:
    pending = _pending(request, "oauth_signup")
    provider = oauth.find_provider(request.app.state.settings, pending["provider"]) if pending else None
    if pending is None or provider is None:
        return _expired(request)
    return _signup_page(request, provider, Claims.from_dict(pending["claims"]))


@post("/auth/signup/complete", name="oauth:signup-complete")
async def signup_complete(request: Request, data: FormData, db: DB) -> Response:
    pending = _pending(request, "oauth_signup")
    provider = oauth.find_provider(request.app.state.settings, pending["provider"]) if pending else None
    if pending is None or provider is None:
        return _expired(request)
    claims = Claims.from_dict(pending["claims"])
    # No per-IP sign-up limit here: each attempt costs a fresh round trip with the provider, and
    # one provider account can only ever make one Pactline account.
    form = {"name": text(data, "name"), "role": text(data, "role")}
    try:
        user = await oauth.create_account(db, provider, claims, name=form["name"], role=form["role"])
    except FormError as exc:
        await db.rollback()
        return _signup_page(request, provider, claims, form=form, errors=exc.errors, status_code=422)
    except DomainError as exc:
        await db.rollback()
        _session(request).pop("oauth_signup", None)
        return _problem(request, f"{exc.message} Sign in instead.", 409)
    await record_event(db, "signed_up", user_id=user.id, request=request, role=user.role, method=provider.name)
    await db.commit()
    await start_session(request, user.id, user.session_epoch)
    target = safe_next(pending.get("next"))
    return see_other(request, "/dashboard?welcome=1" if target == "/dashboard" else target)


HANDLERS = [start, callback, link_page, link_confirm, signup_page, signup_complete]
