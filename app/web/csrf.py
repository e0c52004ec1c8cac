"""Litestar's CSRF middleware, made to refuse any malformed token instead of crashing on it."""

from __future__ import annotations

from litestar.middleware.csrf import CSRFMiddleware


class TolerantCSRFMiddleware(CSRFMiddleware):
    """Litestar (2.25) compares the tokens as `str` with `hmac.compare_digest`, which raises
    TypeError when either holds a non-ASCII character, so a crafted token or cookie became a 500.
    A genuine token is hex: anything else (non-ASCII, or a file part named `_csrf_token`) simply
    does not match, and the request gets the same 403 as any other bad token."""

    def _csrf_tokens_match(self, request_csrf_token: object, cookie_csrf_token: object) -> bool:  # type: ignore[override]
        if not (isinstance(request_csrf_token, str) and isinstance(cookie_csrf_token, str)):
            return False
        if not (request_csrf_token.isascii() and cookie_csrf_token.isascii()):
            return False
        return super()._csrf_tokens_match(request_csrf_token, cookie_csrf_token)
