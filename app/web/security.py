"""Security headers on every response, no caching of private pages, request ids, and the access log line."""

from __future__ import annotations

import re
import secrets
import time

import structlog
from litestar.datastructures import MutableScopeHeaders
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Settings
from app.platform.secret_links import redact

log = structlog.get_logger("pactline.access")

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "frame-src 'self'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)

# Stripe's hosted pages, where a plain form's 303 sends the browser with PAYMENTS_PROVIDER=stripe
# ("Fund" → Checkout, payout setup → Connect onboarding). Browsers apply form-action to the
# redirect that follows a form, so 'self' alone would stop the client at our own door (decision 0038).
STRIPE_HOSTED_PAGES = ("https://checkout.stripe.com", "https://connect.stripe.com")


def csp_for(settings: Settings) -> str:
    """The page CSP: CSP itself, with Stripe's hosted pages as form targets when Stripe takes payments."""
    if settings.payments_provider != "stripe":
        return CSP
    return CSP.replace("form-action 'self'", "form-action 'self' " + " ".join(STRIPE_HOSTED_PAGES))


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def security_headers(settings: Settings) -> dict[str, str]:
    headers = {
        "Content-Security-Policy": csp_for(settings),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if not settings.is_development and settings.app_base_url.startswith("https://"):
        headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    return headers


class NoStoreWhenSignedInMiddleware(ASGIMiddleware):
    """Anything answered to a signed-in person (pages, htmx fragments, PDFs, redirects, errors) is
    theirs alone: `Cache-Control: no-store`, so neither a shared cache nor the browser's back button
    on a shared computer shows it to someone else. A response that already says no-store keeps its
    own wording; static files skip this (and keep their year-long cache)."""

    exclude_opt_key = "skip_session"

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start" and _private(scope):
                headers = MutableScopeHeaders.from_message(message)
                if "no-store" not in (headers.get("cache-control") or "").lower():
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await next_app(scope, receive, send_wrapper)


def _private(scope: Scope) -> bool:
    # Signed in when the request came in, or holding a session now (a half-done two-step sign-in,
    # a session just started by this very response).
    session = scope.get("session")
    return scope.get("user") is not None or (isinstance(session, dict) and bool(session))


def edge_middleware(settings: Settings):
    """Outermost ASGI wrapper: runs for every request, matched route or not."""
    static_headers = [(k.encode(), v.encode()) for k, v in security_headers(settings).items()]

    def wrap(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
            request_id = incoming if _REQUEST_ID.match(incoming) else secrets.token_hex(8)
            scope.setdefault("state", {})["request_id"] = request_id
            structlog.contextvars.bind_contextvars(request_id=request_id)
            started = time.perf_counter()
            status = 500

            async def send_wrapper(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    headers = MutableScopeHeaders.from_message(message)
                    for key, value in static_headers:
                        if key.decode() not in headers:
                            headers.add(key.decode(), value.decode())
                    headers["X-Request-ID"] = request_id
                await send(message)

            try:
                await app(scope, receive, send_wrapper)
            finally:
                path = scope.get("path", "")
                if not path.startswith("/static/"):
                    log.info(
                        "request",
                        method=scope.get("method"),
                        # A reset, invitation or confirmation link is a password for a while:
                        # its secret never reaches the logs (the query string is not logged at all).
                        path=redact(path),
                        status=status,
                        duration_ms=round((time.perf_counter() - started) * 1000, 2),
                    )
                structlog.contextvars.clear_contextvars()

        return middleware

    return wrap
