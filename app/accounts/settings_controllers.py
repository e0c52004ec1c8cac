"""Account settings: name, e-mail, password, two-step sign-in, signed-in devices, step-up."""

from __future__ import annotations

import time
from datetime import timedelta

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery
from litestar.plugins.flash import flash
from sqlalchemy import select

from app.accounts import mfa, services
from app.accounts.audit import record_event
from app.accounts.controllers import MFA_PER_USER, limiter, oauth_providers, safe_next, too_many
from app.accounts.emails import notify, send_link
from app.accounts.guards import STEP_UP_SECONDS, requires_login, requires_recent_auth
from app.accounts.models import OAuthIdentity, TokenPurpose, User
from app.accounts.passwords import verify_password_async
from app.accounts.passwords_policy import MIN_LENGTH
from app.accounts.sessions import list_devices, revoke_device, revoke_other_devices, start_session
from app.accounts.tokens import find_one_time_token, issue_one_time_token
from app.db import DB, utcnow
from app.errors import FormError, NotFound
from app.web.forms import FormData, text
from app.web.htmx import see_other
from app.web.templating import render

EMAIL_CHANGE_LIFETIME = timedelta(hours=24)
GUARDED = [requires_login]


async def _me(request: Request, db: DB) -> User:
    user = await db.get(User, request.scope["user"].id, with_for_update=True)
    assert user is not None
    return user


async def _settings_page(request: Request, db: DB, *, errors=None, form=None, status_code=200) -> Response:
    user = request.scope["user"]
    return render(
        request,
        "accounts/settings.html",
        {
            "errors": errors or {},
            "form": form or {},
            "devices": await list_devices(request, user.id),
            "recovery_left": await mfa.remaining_recovery_codes(db, user) if user.mfa_enabled_at else 0,
            "min_length": MIN_LENGTH,
            "oauth_providers": oauth_providers(request),
            "linked_providers": set(
                (await db.scalars(select(OAuthIdentity.provider).where(OAuthIdentity.user_id == user.id))).all()
            ),
            "recently_confirmed": time.time() - int(request.scope["session"].get("reauth_at", 0)) <= STEP_UP_SECONDS,
        },
        status_code=status_code,
    )


@get("/settings", name="settings:index", guards=GUARDED)
async def settings_page(request: Request, db: DB) -> Response:
    return await _settings_page(request, db)


@post("/settings/profile", name="settings:profile", guards=GUARDED)
async def update_profile(request: Request, data: FormData, db: DB) -> Response:
    name = text(data, "name")
    if not name or len(name) > 200:
        return await _settings_page(
            request,
            db,
            errors={"name": ["Enter your name (up to 200 characters)."]},
            form={"name": name},
            status_code=422,
        )
    user = await _me(request, db)
    user.name = name
    await db.commit()
    flash(request, "Your name was saved.", category="success")
    return see_other(request, "/settings")


@post("/settings/email", name="settings:email", guards=[requires_recent_auth])
async def change_email(request: Request, data: FormData, db: DB, state: State) -> Response:
    new_email = services.normalize_email(text(data, "email"))
    if len(new_email) > services.MAX_EMAIL_LENGTH:
        return await _settings_page(request, db, errors={"email": [services.EMAIL_TOO_LONG]}, status_code=422)
    user = await _me(request, db)
    error = None
    if problem := services.email_problem(new_email):
        error = problem
    elif new_email == services.normalize_email(user.email):
        error = "That is already your e-mail address."
    elif await services.get_user_by_email(db, new_email) is not None:
        error = "Another account uses this e-mail address."
    if error:
        await db.rollback()
        return await _settings_page(request, db, errors={"email": [error]}, form={"email": new_email}, status_code=422)
    row = await issue_one_time_token(
        db, state.settings.secret_key, user.id, TokenPurpose.email_change, EMAIL_CHANGE_LIFETIME, {"email": new_email}
    )
    send_link(db, row, "email_change")
    await record_event(db, "email_change_requested", user_id=user.id, request=request, new_email=new_email)
    await db.commit()
    flash(
        request, f"We sent a confirmation link to {new_email}. Your address changes when you open it.", category="info"
    )
    return see_other(request, "/settings")


@get("/settings/email/confirm/{token:str}", name="settings:email-confirm", guards=GUARDED)
async def confirm_email_change(request: Request, token: FromPath[str], db: DB) -> Response:
    row = await find_one_time_token(db, token, TokenPurpose.email_change, lock=True)
    if row is None or row.user_id != request.scope["user"].id:
        return render(request, "accounts/verify_result.html", {"ok": False, "problem": "invalid"}, status_code=400)
    new_email = row.data["email"]
    if await services.get_user_by_email(db, new_email) is not None:
        return render(request, "accounts/verify_result.html", {"ok": False, "problem": "taken"}, status_code=409)
    user = await _me(request, db)
    old_email = user.email
    user.email, user.email_verified_at, row.used_at = new_email, utcnow(), utcnow()
    await record_event(db, "email_changed", user_id=user.id, request=request, old_email=old_email, new_email=new_email)
    # The old address hears about it: if someone else made the change, its owner can react.
    notify(db, user, "email_changed", to=old_email, new_email=new_email)
    await db.commit()
    flash(request, f"Your e-mail address is now {new_email}.", category="success")
    return see_other(request, "/settings")


@post("/settings/password", name="settings:password", guards=[requires_recent_auth])
async def change_password(request: Request, data: FormData, db: DB) -> Response:
    user = await _me(request, db)
    try:
        await services.change_password(
            db, user, str(data.get("current_password", "")), str(data.get("new_password", ""))
        )
    except FormError as exc:
        await db.rollback()
        return await _settings_page(request, db, errors=exc.errors, status_code=422)
    await record_event(db, "password_changed", user_id=user.id, request=request)
    await db.commit()
    # Every other session is now dead (epoch bumped); this browser gets a fresh one.
    await revoke_other_devices(request, user.id)
    session = request.scope.get("session") or {}
    await start_session(
        request, user.id, user.session_epoch, extra={k: session[k] for k in ("mfa_at", "reauth_at") if k in session}
    )
    flash(request, "Your password was changed. Other devices were signed out.", category="success")
    return see_other(request, "/settings")


@post("/settings/sessions/revoke", name="settings:revoke-session", guards=GUARDED)
async def revoke_session(request: Request, data: FormData) -> Response:
    """`device` is a handle for one of the person's own devices (sessions.device_handle), never a
    session id; it travels in the form body, so it stays out of URLs and access logs."""
    if not await revoke_device(request, request.scope["user"].id, text(data, "device")):
        raise NotFound()
    flash(request, "That device was signed out.", category="success")
    return see_other(request, "/settings")


@post("/settings/sessions/sign-out-others", name="settings:revoke-other-sessions", guards=GUARDED)
async def revoke_other_sessions(request: Request) -> Response:
    count = await revoke_other_devices(request, request.scope["user"].id)
    message = "Your other devices were signed out." if count else "You were not signed in anywhere else."
    flash(request, message, category="success" if count else "info")
    return see_other(request, "/settings")


# ---------------------------------------------------------------- two-step sign-in settings


# Turning two-step sign-in on needs a recent confirmation too: someone holding a stolen session
# could otherwise bind the account to their own authenticator and lock its owner out.
@get("/settings/mfa", name="settings:mfa", guards=[requires_recent_auth])
async def mfa_setup(
    request: Request, required: FromQuery[str | None] = None, next: FromQuery[str | None] = None
) -> Response:
    user = request.scope["user"]
    if user.mfa_enabled_at is not None:
        return see_other(request, "/settings")
    session = request.scope["session"]
    secret = session.get("mfa_setup_secret") or mfa.new_secret()
    session["mfa_setup_secret"] = secret
    uri = mfa.provisioning_uri(secret, user.email)
    return render(
        request,
        "accounts/mfa_setup.html",
        {
            "qr_svg": mfa.qr_svg(uri),
            "secret": secret,
            "errors": {},
            "required": bool(required),
            "next": safe_next(next, "/settings"),
        },
    )


@post("/settings/mfa", name="settings:mfa-confirm", guards=[requires_recent_auth])
async def mfa_confirm(request: Request, data: FormData, db: DB, state: State) -> Response:
    session = request.scope["session"]
    secret = session.get("mfa_setup_secret")
    user = await _me(request, db)
    if not secret or user.mfa_enabled_at is not None:
        return see_other(request, "/settings/mfa")
    target = safe_next(text(data, "next"), "/settings")
    attempt = await limiter(request).attempt((MFA_PER_USER, str(user.id)))
    step = None
    if not attempt.allowed:
        errors = {"code": [too_many(attempt.verdict)]}
    elif (step := mfa.matching_step(secret, text(data, "code"))) is None:
        errors = {"code": ["That code is not right. Enter the 6 digits your app shows now."]}
    else:
        errors = None
        await limiter(request).forgive(attempt)
    if errors:
        email = user.email
        await db.rollback()
        uri = mfa.provisioning_uri(secret, email)
        return render(
            request,
            "accounts/mfa_setup.html",
            {"qr_svg": mfa.qr_svg(uri), "secret": secret, "errors": errors, "required": False, "next": target},
            status_code=422,
        )
    codes = await mfa.enable(db, user, secret, state.settings.secret_key, confirmed_step=step)
    await record_event(db, "mfa_enabled", user_id=user.id, request=request)
    notify(db, user, "mfa_enabled")
    await db.commit()
    session.pop("mfa_setup_secret", None)
    now = int(time.time())
    # Turning on MFA is a privilege change: new session id, now counted as two-step signed in.
    await start_session(request, user.id, user.session_epoch, extra={"mfa_at": now, "reauth_at": now})
    return render(request, "accounts/mfa_recovery_codes.html", {"codes": codes, "next": target})


@post("/settings/mfa/recovery-codes", name="settings:mfa-codes", guards=[requires_recent_auth])
async def mfa_new_codes(request: Request, db: DB) -> Response:
    user = await _me(request, db)
    if user.mfa_enabled_at is None:
        return see_other(request, "/settings/mfa")
    codes = await mfa.regenerate_recovery_codes(db, user)
    await record_event(db, "mfa_recovery_codes_renewed", user_id=user.id, request=request)
    await db.commit()
    return render(request, "accounts/mfa_recovery_codes.html", {"codes": codes, "next": "/settings"})


@post("/settings/mfa/disable", name="settings:mfa-disable", guards=[requires_recent_auth])
async def mfa_disable(request: Request, db: DB) -> Response:
    user = await _me(request, db)
    if user.is_admin:
        flash(request, "Admins must keep two-step sign-in on.", category="error")
        return see_other(request, "/settings")
    await mfa.disable(db, user)
    await record_event(db, "mfa_disabled", user_id=user.id, request=request)
    notify(db, user, "mfa_disabled")
    await db.commit()
    request.scope["session"].pop("mfa_at", None)
    flash(request, "Two-step sign-in is off.", category="warning")
    return see_other(request, "/settings")


# ---------------------------------------------------------------- step-up confirmation


@get("/settings/confirm", name="settings:confirm", guards=GUARDED)
async def confirm_page(request: Request, next: FromQuery[str | None] = None) -> Response:
    return render(
        request,
        "accounts/confirm.html",
        {"errors": {}, "next": safe_next(next, "/settings"), "oauth_providers": oauth_providers(request)},
    )


@post("/settings/confirm", name="settings:confirm-submit", guards=GUARDED)
async def confirm_submit(request: Request, data: FormData, db: DB, state: State) -> Response:
    """Sensitive changes ask again: the authenticator code when two-step is on, else the password."""
    user = request.scope["user"]
    target = safe_next(text(data, "next"), "/settings")
    page = {"next": target, "oauth_providers": oauth_providers(request)}
    attempt = await limiter(request).attempt((MFA_PER_USER, str(user.id)))
    if not attempt.allowed:
        return render(
            request,
            "accounts/confirm.html",
            {**page, "errors": {"form": [too_many(attempt.verdict)]}},
            status_code=429,
            headers={"Retry-After": str(attempt.verdict.retry_after)},
        )
    checked = mfa.CodeCheck.wrong
    if user.mfa_enabled_at is not None:
        secret = mfa.user_secret(user, state.settings.secret_key)
        if secret:
            checked = await mfa.accept_code(db, user, secret, text(data, "code"))
        ok, field = checked is mfa.CodeCheck.accepted, "code"
    else:
        ok, field = await verify_password_async(user.password_hash, str(data.get("password", ""))), "password"
    if not ok:
        if field == "password":
            message = "That is not your password."
        elif checked is mfa.CodeCheck.reused:
            message = mfa.REUSED_MESSAGE
        else:
            message = "That code is not right."
        return render(request, "accounts/confirm.html", {**page, "errors": {field: [message]}}, status_code=422)
    await db.commit()  # the code's time step is spent
    await limiter(request).forgive(attempt)
    request.scope["session"]["reauth_at"] = int(time.time())
    return see_other(request, target)


HANDLERS = [
    settings_page,
    update_profile,
    change_email,
    confirm_email_change,
    change_password,
    revoke_session,
    revoke_other_sessions,
    mfa_setup,
    mfa_confirm,
    mfa_new_codes,
    mfa_disable,
    confirm_page,
    confirm_submit,
]
