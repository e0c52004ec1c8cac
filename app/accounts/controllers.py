"""Sign-in and sign-out."""

from __future__ import annotations

from urllib.parse import urlsplit

from litestar import Request, Response, get, post
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import services
from app.web.ratelimit import Limit, RateLimiter, client_ip
from app.accounts.sessions import end_session, start_session
from app.web.forms import Errors, FormData, text
from app.web.htmx import see_other
from app.web.templating import render


# DESIGN §5: failed sign-ins per (IP, e-mail) pair, and per IP at a higher ceiling.
SIGN_IN_PER_PAIR = Limit("signin-pair", attempts=10, window_seconds=15 * 60)
SIGN_IN_PER_IP = Limit("signin-ip", attempts=100, window_seconds=15 * 60)


def safe_next(value: str | None) -> str:
    """Only same-site paths: never another host, never a scheme-relative URL."""
    if not value:
        return "/dashboard"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/dashboard"
    return value


@get("/login", name="accounts:login")
async def login_page(request: Request, next: str | None = None) -> Response:
    if request.scope.get("user") is not None:
        return see_other(request, safe_next(next))
    return render(request, "accounts/login.html", {"form": {}, "errors": {}, "next": safe_next(next)})


@post("/login", name="accounts:login-submit", opt={"form_template": "accounts/login.html"})
async def login_submit(request: Request, data: FormData, db: AsyncSession, state: State) -> Response:
    email, password, target = text(data, "email"), str(data.get("password", "")), safe_next(text(data, "next"))
    errors = Errors()
    if not email:
        errors.add("email", "Enter your e-mail address.")
    if not password:
        errors.add("password", "Enter your password.")
    user = None
    limiter = RateLimiter(state.redis)
    ip = client_ip(request, state.settings.trusted_proxies)
    pair = f"{ip}|{services.normalize_email(email)}"
    if not errors:
        for limit, subject in ((SIGN_IN_PER_PAIR, pair), (SIGN_IN_PER_IP, ip)):
            verdict = await limiter.check(limit, subject)
            if not verdict.allowed:
                return render(
                    request,
                    "accounts/login.html",
                    {
                        "form": {"email": email},
                        "errors": {"form": [f"Too many failed attempts. Please try again in {verdict.minutes} minute{'s' if verdict.minutes != 1 else ''}."]},
                        "next": target,
                    },
                    status_code=429,
                    headers={"Retry-After": str(verdict.retry_after)},
                )
        user = await services.authenticate(db, email, password)
        if user is None:
            await limiter.hit(SIGN_IN_PER_PAIR, pair)
            await limiter.hit(SIGN_IN_PER_IP, ip)
            errors.add("form", "That e-mail and password don't match an account. Check them and try again.")
        elif not user.is_active:
            errors.add("form", "This account is suspended. Contact support if you think this is a mistake.")
    if errors or user is None:
        return render(
            request,
            "accounts/login.html",
            {"form": {"email": email}, "errors": errors, "next": target},
            status_code=422,
        )
    await db.commit()  # a rehashed password, if parameters changed
    start_session(request.scope, user.id, user.session_epoch)
    return see_other(request, target)


@post("/logout", name="accounts:logout")
async def logout(request: Request) -> Response:
    end_session(request.scope)
    return see_other(request, "/")
