"""Sign-in (with two-step), sign-out, sign-up, e-mail verification and password reset."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery
from litestar.plugins.flash import flash

from app.accounts import mfa, services
from app.accounts.audit import record_event, record_failed_sign_in
from app.accounts.emails import send_link, send_verification
from app.accounts.guards import requires_login
from app.accounts.models import Role, User
from app.accounts.oauth import all_providers
from app.accounts.passwords_policy import MAX_LENGTH, MIN_LENGTH, StrengthBusy, strength_off_loop
from app.accounts.sessions import end_session, rotate_session, start_session
from app.accounts.tokens import read_verification_token
from app.db import DB
from app.errors import DomainError, FormError
from app.web.errors import error_response
from app.web.forms import Errors, FormData, checkbox, text
from app.web.htmx import see_other
from app.web.ratelimit import Limit, RateLimiter, Verdict, request_ip
from app.web.templating import render

# DESIGN §5: failed sign-ins per (IP, e-mail) pair, and per IP at a higher ceiling.
SIGN_IN_PER_PAIR = Limit("signin-pair", attempts=10, window_seconds=15 * 60)
SIGN_IN_PER_IP = Limit("signin-ip", attempts=100, window_seconds=15 * 60)
SIGN_UP_PER_IP = Limit("signup-ip", attempts=10, window_seconds=60 * 60)
RESET_PER_IP = Limit("reset-ip", attempts=10, window_seconds=60 * 60)
RESET_PER_EMAIL = Limit("reset-email", attempts=3, window_seconds=60 * 60)
MFA_PER_USER = Limit("mfa-user", attempts=5, window_seconds=15 * 60)
MFA_PENDING_SECONDS = 10 * 60
PASSWORD_HINTS_PER_IP = Limit("password-hint-ip", attempts=60, window_seconds=60)
MAX_NEXT_LENGTH = 2000


def safe_next(value: str | None, default: str = "/dashboard") -> str:
    """Only same-site paths: never another host, never a scheme-relative URL, never a novel
    (it is kept in the session while two-step sign-in waits, and sent back as a header)."""
    if not value or len(value) > MAX_NEXT_LENGTH:
        return default
    try:
        parts = urlsplit(value)
    except ValueError:  # "http://[x": not even a URL
        return default
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value


def too_many(verdict: Verdict) -> str:
    minutes = verdict.minutes
    return f"Too many attempts. Please try again in {minutes} minute{'s' if minutes != 1 else ''}."


def limiter(request: Request) -> RateLimiter:
    return RateLimiter(request.app.state.redis)


# ---------------------------------------------------------------- sign-in


def _login_page(
    request: Request, *, form=None, errors=None, next_url="/dashboard", status_code=200, headers=None, notice=None
) -> Response:
    return render(
        request,
        "accounts/login.html",
        {
            "form": form or {},
            "errors": errors or {},
            "next": next_url,
            "notice": notice,
            "oauth_providers": oauth_providers(request),
        },
        status_code=status_code,
        headers=headers,
    )


def oauth_providers(request: Request) -> list[tuple[str, str]]:
    settings = request.app.state.settings
    providers = []
    if settings.google_client_id and settings.google_client_secret:
        providers.append(("google", "Google"))
    if settings.linkedin_client_id and settings.linkedin_client_secret:
        providers.append(("linkedin", "LinkedIn"))
    return providers


NOTICES = {
    "suspended": "Your account is suspended, so you were signed out. If you think this is a mistake, write to support@pactline.test.",
    "reset": "Your password was changed. Sign in with the new one.",
    "verified": "Your e-mail address is confirmed. Sign in to continue.",
}


@get("/login", name="accounts:login")
async def login_page(
    request: Request, next: FromQuery[str | None] = None, reason: FromQuery[str | None] = None
) -> Response:
    if request.scope.get("user") is not None:
        return see_other(request, safe_next(next))
    return _login_page(request, next_url=safe_next(next), notice=NOTICES.get(reason or ""))


@post("/login", name="accounts:login-submit", opt={"form_template": "accounts/login.html"})
async def login_submit(request: Request, data: FormData, db: DB, state: State) -> Response:
    email, password, target = text(data, "email"), str(data.get("password", "")), safe_next(text(data, "next"))
    remember = checkbox(data, "remember")
    errors = Errors()
    # Before anything else: the address becomes a limiter subject and a query parameter.
    if problem := services.email_problem(email, check_format=False):
        errors.add("email", problem)
    if not password:
        errors.add("password", "Enter your password.")
    if errors:
        form = {"email": email if len(email) <= services.MAX_EMAIL_LENGTH else ""}
        return _login_page(request, form=form, errors=errors, next_url=target, status_code=422)

    ip = request_ip(request)
    normalized = services.normalize_email(email)
    attempt = await limiter(request).attempt((SIGN_IN_PER_PAIR, f"{ip}|{normalized}"), (SIGN_IN_PER_IP, ip))
    if not attempt.allowed:
        return _login_page(
            request,
            form={"email": email},
            errors={"form": [too_many(attempt.verdict)]},
            next_url=target,
            status_code=429,
            headers={"Retry-After": str(attempt.verdict.retry_after)},
        )
    user = await services.authenticate(db, email, password)
    if user is None:
        # The attempt stays counted. Not an account event: anyone can cause any number of these.
        known = await services.get_user_by_email(db, email)
        await record_failed_sign_in(
            db, normalized_email=normalized, step="password", user_id=known.id if known else None, request=request
        )
        await db.commit()
        errors.add("form", "That e-mail and password don't match an account. Check them and try again.")
        return _login_page(request, form={"email": email}, errors=errors, next_url=target, status_code=422)
    await limiter(request).forgive(attempt)  # only failures count (DESIGN §5)
    if not user.is_active:
        errors.add("form", NOTICES["suspended"])
        return _login_page(request, form={"email": email}, errors=errors, next_url=target, status_code=422)

    if user.mfa_enabled_at is not None:
        # Password was right; the session is not signed in until the second step passes.
        rotate_session(request)
        request.scope["session"] = {
            "mfa_pending_uid": user.id,
            "mfa_pending_at": int(time.time()),
            "remember": remember,
            "next": target,
        }
        await db.commit()
        return see_other(request, "/login/mfa")
    await record_event(db, "signed_in", user_id=user.id, request=request, method="password")
    await db.commit()  # also keeps a rehashed password, if the parameters changed
    await start_session(request, user.id, user.session_epoch, remember=remember)
    return see_other(request, target)


# ---------------------------------------------------------------- two-step sign-in


async def _mfa_subject(request: Request, db: DB) -> User | None:
    """The user being asked for a code: pending after a password, or signed in without MFA yet."""
    session = request.scope.get("session") or {}
    if pending := session.get("mfa_pending_uid"):
        if time.time() - int(session.get("mfa_pending_at", 0)) > MFA_PENDING_SECONDS:
            return None
        return await db.get(User, int(pending))
    user = request.scope.get("user")
    return user if user is not None and user.mfa_enabled_at is not None else None


@get("/login/mfa", name="accounts:mfa-challenge")
async def mfa_challenge(request: Request, db: DB, next: FromQuery[str | None] = None) -> Response:
    user = await _mfa_subject(request, db)
    if user is None:
        return see_other(request, "/login")
    session = request.scope.get("session") or {}
    return render(
        request, "accounts/mfa_challenge.html", {"errors": {}, "next": safe_next(next or session.get("next"))}
    )


@post("/login/mfa", name="accounts:mfa-challenge-submit")
async def mfa_challenge_submit(request: Request, data: FormData, db: DB, state: State) -> Response:
    user = await _mfa_subject(request, db)
    if user is None:
        return see_other(request, "/login")
    session = dict(request.scope.get("session") or {})
    target = safe_next(text(data, "next") or session.get("next"))
    code, recovery = text(data, "code"), text(data, "recovery_code")
    attempt = await limiter(request).attempt((MFA_PER_USER, str(user.id)))
    if not attempt.allowed:
        return render(
            request,
            "accounts/mfa_challenge.html",
            {"errors": {"form": [too_many(attempt.verdict)]}, "next": target},
            status_code=429,
            headers={"Retry-After": str(attempt.verdict.retry_after)},
        )
    secret = mfa.user_secret(user, state.settings.secret_key)
    ok, method, checked = False, "totp", mfa.CodeCheck.wrong
    if recovery:
        ok, method = await mfa.use_recovery_code(db, user, recovery), "recovery_code"
    elif code and secret:
        checked = await mfa.accept_code(db, user, secret, code)
        ok = checked is mfa.CodeCheck.accepted
    if not ok:
        # A replayed code (seen over a shoulder, or phished) is kept apart from a mistyped one.
        step = "totp_reused" if checked is mfa.CodeCheck.reused else method
        await record_failed_sign_in(
            db, normalized_email=services.normalize_email(user.email), step=step, user_id=user.id, request=request
        )
        await db.commit()
        field = "recovery_code" if recovery else "code"
        if recovery:
            message = "That recovery code is not valid or was already used."
        elif checked is mfa.CodeCheck.reused:
            message = mfa.REUSED_MESSAGE
        else:
            message = "That code is not right. Enter the 6 digits your app shows now."
        return render(
            request, "accounts/mfa_challenge.html", {"errors": {field: [message]}, "next": target}, status_code=422
        )
    await limiter(request).forgive(attempt)
    first_step = session.get("method", "password")
    await record_event(db, "signed_in", user_id=user.id, request=request, method=f"{first_step}+{method}")
    await db.commit()
    now = int(time.time())
    await start_session(
        request,
        user.id,
        user.session_epoch,
        remember=bool(session.get("remember")),
        extra={"mfa_at": now, "reauth_at": now},
    )
    return see_other(request, target)


@post("/logout", name="accounts:logout")
async def logout(request: Request) -> Response:
    end_session(request.scope)
    return see_other(request, "/")


# ---------------------------------------------------------------- sign-up and verification


def _signup_page(request: Request, *, form=None, errors=None, status_code=200, headers=None) -> Response:
    return render(
        request,
        "accounts/signup.html",
        {
            "form": form or {"role": "client"},
            "errors": errors or {},
            "min_length": MIN_LENGTH,
            "oauth_providers": oauth_providers(request),
        },
        status_code=status_code,
        headers=headers,
    )


@get("/signup", name="accounts:signup")
async def signup_page(
    request: Request,
    role: FromQuery[str | None] = None,
    email: FromQuery[str | None] = None,
    next: FromQuery[str | None] = None,
) -> Response:
    if request.scope.get("user") is not None:
        return see_other(request, safe_next(next))
    form = {
        "role": role if role in ("client", "contractor") else "client",
        "email": email or "",
        "next": safe_next(next, ""),
    }
    return _signup_page(request, form=form)


@post("/signup", name="accounts:signup-submit", opt={"form_template": "accounts/signup.html"})
async def signup_submit(request: Request, data: FormData, db: DB, state: State) -> Response:
    form = {
        "name": text(data, "name"),
        "email": text(data, "email"),
        "role": text(data, "role"),
        "next": safe_next(text(data, "next"), ""),
    }
    if len(form["email"]) > services.MAX_EMAIL_LENGTH:
        form["email"] = ""
        return _signup_page(request, form=form, errors={"email": [services.EMAIL_TOO_LONG]}, status_code=422)
    verdict = await limiter(request).hit(SIGN_UP_PER_IP, request_ip(request))
    if not verdict.allowed:
        return _signup_page(
            request,
            form=form,
            errors={"form": [too_many(verdict)]},
            status_code=429,
            headers={"Retry-After": str(verdict.retry_after)},
        )
    try:
        role = Role(form["role"]) if form["role"] in ("client", "contractor") else None
        user = await services.sign_up(
            db, name=form["name"], email=form["email"], password=str(data.get("password", "")), role=role
        )  # type: ignore[arg-type]
    except FormError as exc:
        await db.rollback()
        return _signup_page(request, form=form, errors=exc.errors, status_code=422)
    await record_event(db, "signed_up", user_id=user.id, request=request, role=user.role)
    send_verification(db, user)
    await db.commit()
    await start_session(request, user.id, user.session_epoch)
    return see_other(request, form["next"] or "/dashboard?welcome=1")


@post("/signup/password-strength", name="accounts:password-strength")
async def password_strength(request: Request, data: FormData) -> Response:
    """Live hint under the password field while typing (htmx, debounced). Anyone can call it and
    scoring costs CPU, so it is limited per address and never queues behind busy checks."""
    verdict = await limiter(request).hit(PASSWORD_HINTS_PER_IP, request_ip(request))
    if not verdict.allowed:
        return error_response(
            request,
            429,
            f"The live strength check is paused for {too_many_minutes(verdict)}. "
            "Your password is still checked when you create your account.",
            headers={"Retry-After": str(verdict.retry_after)},
        )
    password = str(data.get("password", ""))
    found, busy = None, False
    if password and len(password) <= MAX_LENGTH:
        try:
            found = await strength_off_loop(password, user_inputs=(text(data, "name"), text(data, "email")), wait=False)
        except StrengthBusy:
            busy = True
    return render(
        request,
        "accounts/_password_strength.html",
        {"strength": found, "busy": busy, "length": len(password), "min_length": MIN_LENGTH, "max_length": MAX_LENGTH},
    )


def too_many_minutes(verdict: Verdict) -> str:
    return f"{verdict.minutes} minute{'s' if verdict.minutes != 1 else ''}"


@get("/verify-email/{token:str}", name="accounts:verify-email")
async def verify_email(request: Request, token: FromPath[str], db: DB, state: State) -> Response:
    payload, problem = read_verification_token(state.settings.secret_key, token)
    user = await services.verify_email(db, payload["uid"], payload["email"]) if payload else None
    if user is None:
        return render(
            request, "accounts/verify_result.html", {"ok": False, "problem": problem or "invalid"}, status_code=400
        )
    await record_event(db, "email_verified", user_id=user.id, request=request)
    await db.commit()
    return render(
        request, "accounts/verify_result.html", {"ok": True, "signed_in": request.scope.get("user") is not None}
    )


@post("/verify-email/resend", name="accounts:verify-resend", guards=[requires_login])
async def resend_verification(request: Request, db: DB) -> Response:
    user = request.scope["user"]
    if user.email_verified_at is not None:
        flash(request, "Your e-mail address is already confirmed.", category="info")
    elif not (verdict := await limiter(request).hit(RESET_PER_EMAIL, f"verify|{user.id}")).allowed:
        flash(request, too_many(verdict), category="warning")
    else:
        send_verification(db, user)
        await db.commit()
        flash(request, f"We sent a new confirmation link to {user.email}.", category="success")
    return see_other(request, safe_next(_referer_path(request)))


def _referer_path(request: Request) -> str | None:
    try:
        return urlsplit(request.headers.get("referer", "")).path or None
    except ValueError:  # a Referer that is not a URL
        return None


# ---------------------------------------------------------------- password reset


@get("/reset", name="accounts:reset")
async def reset_page(request: Request) -> Response:
    return render(request, "accounts/reset_request.html", {"form": {}, "errors": {}})


@post("/reset", name="accounts:reset-submit")
async def reset_submit(request: Request, data: FormData, db: DB, state: State) -> Response:
    email = text(data, "email")
    if problem := services.email_problem(email):
        form = {"email": email if len(email) <= services.MAX_EMAIL_LENGTH else ""}
        return render(
            request, "accounts/reset_request.html", {"form": form, "errors": {"email": [problem]}}, status_code=422
        )
    ip = request_ip(request)
    # Every request that is let through counts: a reset e-mail is sent whether or not it is wanted.
    attempt = await limiter(request).attempt((RESET_PER_IP, ip), (RESET_PER_EMAIL, services.normalize_email(email)))
    if not attempt.allowed:
        return render(
            request,
            "accounts/reset_request.html",
            {"form": {"email": email}, "errors": {"form": [too_many(attempt.verdict)]}},
            status_code=429,
            headers={"Retry-After": str(attempt.verdict.retry_after)},
        )
    started = await services.start_password_reset(db, state.settings.secret_key, email)
    if started is not None:
        user, row = started
        await record_event(db, "password_reset_requested", user_id=user.id, request=request)
        send_link(db, row, "password_reset")
    await db.commit()
    # The same answer whether or not the address has an account.
    return render(request, "accounts/reset_sent.html", {"email": email})


@get("/reset/{token:str}", name="accounts:reset-form")
async def reset_form(request: Request, token: FromPath[str], db: DB) -> Response:
    from app.accounts.models import TokenPurpose
    from app.accounts.tokens import find_one_time_token

    valid = await find_one_time_token(db, token, TokenPurpose.password_reset) is not None
    return render(
        request,
        "accounts/reset_form.html",
        {"token": token, "valid": valid, "errors": {}, "min_length": MIN_LENGTH},
        status_code=200 if valid else 400,
    )


@post("/reset/{token:str}", name="accounts:reset-form-submit")
async def reset_form_submit(request: Request, token: FromPath[str], data: FormData, db: DB, state: State) -> Response:
    try:
        user, unlinked = await services.finish_password_reset(db, token, str(data.get("password", "")))
    except FormError as exc:
        await db.rollback()
        return render(
            request,
            "accounts/reset_form.html",
            {"token": token, "valid": True, "errors": exc.errors, "min_length": MIN_LENGTH},
            status_code=422,
        )
    except DomainError as exc:
        await db.rollback()
        return render(
            request,
            "accounts/reset_form.html",
            {"token": token, "valid": False, "errors": {"form": [exc.message]}, "min_length": MIN_LENGTH},
            status_code=400,
        )
    await record_event(db, "password_reset", user_id=user.id, request=request)
    for provider in unlinked:
        await record_event(
            db, "oauth_unlinked", user_id=user.id, request=request, provider=provider, why="password_reset"
        )
    await db.commit()
    if unlinked:
        # A fresh, empty session that only carries the message to the sign-in page.
        rotate_session(request)
        request.scope["session"] = {}  # type: ignore[typeddict-item]
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
    return see_other(request, "/login?reason=reset")


HANDLERS = [
    login_page,
    login_submit,
    mfa_challenge,
    mfa_challenge_submit,
    logout,
    signup_page,
    signup_submit,
    password_strength,
    verify_email,
    resend_verification,
    reset_page,
    reset_submit,
    reset_form,
    reset_form_submit,
]
