"""Exception handlers: designed error pages for browsers, toasts for htmx, JSON for the API."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from litestar import Request, Response
from litestar.enums import RequestEncodingType
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.response import Redirect
from litestar.status_codes import HTTP_303_SEE_OTHER

from app.accounts.guards import MFARequired, StepUpRequired, confirm_url, with_next
from app.accounts.sessions import SessionsUnavailable
from app.errors import DomainError, FormError, NotFound
from app.platform.resources import REDIS_UNAVAILABLE
from app.platform.secret_links import redact
from app.web.htmx import toast_response
from app.web.templating import is_htmx, render

log = logging.getLogger("pactline.web")

MESSAGES: dict[int, tuple[str, str]] = {
    400: ("That request didn't make sense", "Something in the request was malformed. Please go back and try again."),
    403: ("This action was blocked", "For your safety we stopped this request. Reload the page and try again."),
    404: ("We couldn't find that page", "The link may be broken, or the page may belong to someone else."),
    405: ("That action isn't available here", "Please go back and use the buttons on the page."),
    409: (
        "That can't be done right now",
        "The item changed in the meantime. Reload the page to see its current state.",
    ),
    413: ("That file is too large", "Files can be at most 10 MB each. Choose a smaller file and try again."),
    422: ("Please check what you entered", "Some of the information needs another look."),
    429: ("Too many attempts", "Please wait a little and try again."),
    500: ("Something went wrong on our side", "We have been told about it. Please try again in a minute."),
    503: ("Pactline is busy right now", "A service we depend on is not answering. Please try again in a minute."),
}


def wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith(("/api/", "/webhooks/")) or (
        "application/json" in request.headers.get("accept", "") and "text/html" not in request.headers.get("accept", "")
    )


def error_response(
    request: Request,
    status_code: int,
    message: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    title: str | None = None,
) -> Response:
    default_title, default_message = MESSAGES.get(status_code, MESSAGES[500] if status_code >= 500 else MESSAGES[400])
    title = title or default_title
    text = message or default_message
    if wants_json(request):
        return Response(
            {"error": title, "detail": text, "status": status_code}, status_code=status_code, headers=headers
        )
    if is_htmx(request):
        response = toast_response(text if message else title, "error", status_code=status_code)
        response.headers.update(headers or {})
        return response
    context = {
        "status_code": status_code,
        "title": title,
        "message": text,
        "retry_url": _retry_url(request, status_code),
    }
    return render(request, "errors/error.html", context, status_code=status_code, headers=headers)


def _retry_url(request: Request, status_code: int) -> str | None:
    """A 503 on a GET can simply be tried again; a form post is not replayed from a link."""
    if status_code != 503 or request.method != "GET":
        return None
    path = "/" + request.url.path.lstrip("/\\")  # never "//host": the link stays on this site
    return path + (f"?{request.url.query}" if request.url.query else "")


def handle_http_exception(request: Request, exc: HTTPException) -> Response:
    if exc.status_code >= 500:
        log.error("server error %s on %s", exc.status_code, redact(request.url.path), exc_info=exc)
        return error_response(request, exc.status_code)
    if exc.status_code == 413:
        return _too_large(request, exc)
    detail = exc.detail if exc.detail and exc.detail not in _LITESTAR_DEFAULTS else None
    return error_response(request, exc.status_code, detail, headers=exc.headers)


_LITESTAR_DEFAULTS = {
    "Not Found",
    "Forbidden",
    "Bad Request",
    "Method Not Allowed",
    "Unauthorized",
    "Internal Server Error",
    "Too Many Requests",
    "Service Unavailable",
    "Conflict",
    "Request Entity Too Large",
    "CSRF token verification failed",
    "CSRF token is missing",
}


def _too_large(request: Request, exc: HTTPException) -> Response:
    """An upload over the limit is a file problem; any other body (a form, JSON) is simply too much."""
    limit = request.route_handler.resolve_request_max_body_size() if request.scope.get("route_handler") else None
    if request.content_type[0] == RequestEncodingType.MULTI_PART:
        # A route that takes several bigger files (a message's) says so in its own words.
        words = request.route_handler.opt.get("too_large") if request.scope.get("route_handler") else None
        if words is None and limit and limit > _MANY_FILES_BYTES:
            most = f"{limit // (1024 * 1024)} MB"  # the files' share: the form's own room left out
            words = f"Together these files are larger than {most}, the most one message can carry. Send fewer at once."
        return error_response(request, 413, words, headers=exc.headers)
    size = f" This one can be at most {_size(limit)}." if limit else ""
    return error_response(
        request,
        413,
        f"The request is too large.{size} Send less at once and try again.",
        title="The request is too large",
        headers=exc.headers,
    )


# The common upload routes take up to 5 files of 10 MB: their 413 says "at most 10 MB each".
_MANY_FILES_BYTES = 5 * 10 * 1024 * 1024 + 64 * 1024


def _size(limit: int) -> str:
    if limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)} MB"
    if limit >= 1_000_000:
        return f"{round(limit / 1_000_000)} MB"
    return f"{max(1, round(limit / 1024))} KB"


def handle_not_found(request: Request, exc: NotFoundException) -> Response:
    return error_response(request, 404)


def handle_permission_denied(request: Request, exc: PermissionDeniedException) -> Response:
    if "CSRF" in str(exc.detail):
        return error_response(
            request, 403, "This form expired or was sent from somewhere else. Reload the page and try again."
        )
    return error_response(request, 403, exc.detail if exc.detail not in _LITESTAR_DEFAULTS else None)


def handle_not_authorized(request: Request, exc: NotAuthorizedException) -> Response:
    """A visitor on a signed-in page goes to the sign-in page and comes back afterwards."""
    if wants_json(request):
        return error_response(request, 401, "Sign-in required")
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    login = with_next(request.app.route_reverse("accounts:login"), target)
    if exc.detail == "suspended":
        login += "&reason=suspended"
    return redirect(request, login)


def redirect(request: Request, url: str) -> Response:
    if is_htmx(request):
        return Response(b"", status_code=200, headers={"HX-Redirect": url})
    return Redirect(url, status_code=HTTP_303_SEE_OTHER)


def handle_mfa_required(request: Request, exc: MFARequired) -> Response:
    """Admins pass two-step sign-in before any console page; those without it set it up first."""
    if exc.enrolled:
        return redirect(request, with_next(request.app.route_reverse("accounts:mfa-challenge"), exc.target))
    return redirect(request, with_next(request.app.route_reverse("settings:mfa"), exc.target, required="1"))


def handle_step_up(request: Request, exc: StepUpRequired) -> Response:
    # A sensitive form was posted without a fresh confirmation: confirm, then come back to the
    # page the form is on (the POST itself cannot be replayed by a redirect).
    target = (
        exc.target
        if request.method == "GET"
        else _same_site_referer(request) or request.app.route_reverse("settings:index")
    )
    return redirect(request, confirm_url(target))


def _same_site_referer(request: Request) -> str | None:
    try:
        referer = urlsplit(request.headers.get("referer", ""))
    except ValueError:  # a Referer that is not a URL
        return None
    if referer.netloc and referer.netloc != request.headers.get("host"):
        return None
    return referer.path or None


def handle_missing(request: Request, exc: NotFound) -> Response:
    return error_response(request, 404)


def handle_domain_error(request: Request, exc: DomainError) -> Response:
    log.info("refused %s %s: %s", request.method, redact(request.url.path), exc.message)
    return error_response(request, exc.status_code, exc.message)


def handle_validation(request: Request, exc: ValidationException) -> Response:
    """Typed form bodies that fail to parse re-render the route's form (opt `form_template`)."""
    template = request.route_handler.opt.get("form_template") if request.scope.get("route_handler") else None
    if template and not wants_json(request) and not is_htmx(request):
        errors: dict[str, list[str]] = {}
        for item in exc.extra or []:
            if isinstance(item, dict):
                key = str(item.get("key") or "form")
                errors.setdefault(key, []).append("Please fill in this field correctly.")
        return render(request, template, {"errors": errors, "form": {}}, status_code=422)
    if wants_json(request):
        return Response({"error": "Invalid request", "detail": exc.extra or exc.detail, "status": 400}, status_code=400)
    return error_response(request, 400)


def handle_form_error(request: Request, exc: FormError) -> Response:
    # Controllers normally catch FormError to re-render their own page; this is the fallback.
    if wants_json(request):
        return Response({"error": "Invalid input", "fields": exc.errors, "status": 422}, status_code=422)
    return error_response(request, 422, " ".join(m for msgs in exc.errors.values() for m in msgs))


UNAVAILABLE_HEADERS = {"Retry-After": "30", "Cache-Control": "no-store"}


def handle_sessions_unavailable(request: Request, exc: SessionsUnavailable) -> Response:
    """A signed-in page while sessions cannot be read: say so plainly, keep the cookie (the session
    middleware leaves it alone), and let the browser come back later."""
    return error_response(
        request,
        503,
        "We can't check that you're signed in right now because a service we depend on is not "
        "answering. You are still signed in: please try again in a minute.",
        headers=UNAVAILABLE_HEADERS,
    )


def handle_redis_unavailable(request: Request, exc: Exception) -> Response:
    """Redis (sessions, sign-in limits, the job queue, live events) stopped answering mid-request."""
    log.warning("redis unavailable on %s %s: %s", request.method, redact(request.url.path), exc)
    return error_response(
        request,
        503,
        "A service we depend on is not answering right now. Please try again in a minute; if you "
        "were saving something, reload the page first to see whether it went through.",
        headers=UNAVAILABLE_HEADERS,
    )


def handle_undecodable(request: Request, exc: UnicodeDecodeError) -> Response:
    """Litestar decodes multipart form fields strictly as UTF-8: bytes that are not text are the
    sender's mistake (400), wherever the form is first read (the CSRF check reads it too)."""
    log.info("undecodable request body on %s %s: %s", request.method, request.url.path, exc.reason)
    return error_response(
        request, 400, "Some of what was sent is not readable text. Please check what you typed and send it again."
    )


def handle_server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, redact(request.url.path), exc_info=exc)
    return error_response(request, 500)


EXCEPTION_HANDLERS = {
    NotFoundException: handle_not_found,
    NotAuthorizedException: handle_not_authorized,
    PermissionDeniedException: handle_permission_denied,
    ValidationException: handle_validation,
    DomainError: handle_domain_error,
    NotFound: handle_missing,
    MFARequired: handle_mfa_required,
    StepUpRequired: handle_step_up,
    FormError: handle_form_error,
    SessionsUnavailable: handle_sessions_unavailable,
    **dict.fromkeys(REDIS_UNAVAILABLE, handle_redis_unavailable),
    UnicodeDecodeError: handle_undecodable,
    HTTPException: handle_http_exception,
    500: handle_server_error,
    Exception: handle_server_error,
}
