"""Jinja2 environment, cache-busted static URLs and the page renderer used by every controller."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Request, Response
from litestar.enums import MediaType
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig
from litestar.utils.scope.state import ScopeState
from markupsafe import Markup, escape

from app.config import ROOT, Settings
from app.platform.secret_links import redact

TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"


@lru_cache(maxsize=512)
def _fingerprint(path: str, mtime_ns: int) -> str:
    return hashlib.sha256((STATIC / path).read_bytes()).hexdigest()[:12]


def _versioned(path: str) -> str:
    file = STATIC / path
    if not file.resolve().is_relative_to(STATIC.resolve()) or not file.is_file():
        raise FileNotFoundError(f"no static file {path!r}")
    return f"/static/{path}?v={_fingerprint(path, file.stat().st_mtime_ns)}"


_versioned_once = lru_cache(maxsize=512)(_versioned)
# Files change while developing; in tests and production they are fixed for the process's life,
# so the path checks and stat() are done once per file instead of on every page.
WATCH_STATIC_FILES = True


def static_url(path: str) -> str:
    """`/static/<path>?v=<content hash>`: safe to cache for a year, changes when the file does."""
    return _versioned(path) if WATCH_STATIC_FILES else _versioned_once(path)


def when(value: datetime | None) -> str:
    """A readable UTC time for people: '23 Nov 2026, 09:05 UTC'."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%-d %b %Y, %H:%M UTC")


def timestamp(value: int | float) -> str:
    return when(datetime.fromtimestamp(float(value), UTC))


def _redact(value: Any) -> str:
    """Secrets of links taken out (failed jobs recorded before links were made by the sender)."""
    if isinstance(value, Markup):
        return Markup(redact(str(value)))  # noqa: S704 — only removes text: what was safe stays safe
    return redact(str(value))


def make_environment(*, autoescape_strings: bool = True) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "xml"], default_for_string=autoescape_strings),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static_url"] = static_url
    env.filters["when"] = when
    env.filters["timestamp"] = timestamp
    env.filters["money"] = _money
    env.filters["redact"] = _redact
    env.filters["minor"] = _minor
    return env


def template_config(settings: Settings) -> TemplateConfig:
    global WATCH_STATIC_FILES
    WATCH_STATIC_FILES = settings.is_development
    env = make_environment()
    env.globals["environment"] = settings.environment
    env.globals["sandbox_banner"] = settings.sandbox_banner
    env.globals["events_url"] = "/events"
    # Money forms carry a fresh key per rendering: forms.idempotency_input() (decision 0032).
    from app.escrow.idempotency import new_idempotency_key

    env.globals["new_idempotency_key"] = new_idempotency_key
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(env))


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def base_context(request: Request) -> dict[str, Any]:
    csrf = _csrf_from_state(request)

    def get_flashes() -> list:
        # Unknown routes never pass the session middleware: they have no session to read.
        session = request.scope.get("session")
        return session.pop("_messages", []) if isinstance(session, dict) else []

    return {
        "request": request,
        "get_flashes": get_flashes,
        "current_user": request.scope.get("user"),
        # The bell's number, read with the person (app/accounts/guards.py); None: the bell asks.
        "unread_notifications": request.scope.get("state", {}).get("unread_notifications"),
        "events_url": _events_url(request),
        "csrf_input": Markup('<input type="hidden" name="_csrf_token" value="{}">').format(escape(csrf)),
    }


def _events_url(request: Request) -> str:
    since = request.scope.get("state", {}).get("events_since")
    return "/events" if since is None else f"/events?last_event_id={since}"


def _csrf_from_state(request: Request) -> str:
    token = ScopeState.from_scope(request.scope).csrf_token
    return "" if token is None or not isinstance(token, str) else token


def render_string(
    request: Request, template: str, context: dict[str, Any] | None = None, *, block: str | None = None
) -> str:
    engine = request.app.template_engine
    assert engine is not None
    env: Environment = engine.engine
    ctx = base_context(request) | (context or {})
    tmpl = env.get_template(template)
    if block is None:
        return tmpl.render(ctx)
    return "".join(tmpl.blocks[block](tmpl.new_context(ctx)))


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    block: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Render a page; htmx requests naming `block` get only that block."""
    html = render_string(request, template, context, block=block if is_htmx(request) else None)
    response = Response(html, media_type=MediaType.HTML, status_code=status_code, headers=headers or {})
    response.headers["Vary"] = "HX-Request"
    return response


@lru_cache(maxsize=1)
def email_environment() -> Environment:
    """E-mails render outside a request: same templates, no request helpers. (Live events carry
    no HTML: pages re-fetch their own blocks inside a request, ADR 0023.)"""
    return make_environment(autoescape_strings=False)


def _money(value) -> str:
    return value.format() if value is not None else ""


def _minor(amount_minor, currency: str = "EUR") -> str:
    """Minor units kept as a plain int (contract terms) with their currency: `{{ 150000|minor('EUR') }}`."""
    from app.money import format_minor

    return format_minor(amount_minor, currency or "EUR") if amount_minor is not None else ""
