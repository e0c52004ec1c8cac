"""What `make bench` measures: one list of scenarios, each a request (or a recipe for one) against a target.

Adding a scenario is adding an entry to SCENARIOS. A GET needs only a `Request`. A POST that
needs per-visitor state (a CSRF cookie, a signed-in session) gives a `prepare` function instead:
it runs once per connection inside the load process, before the warm-up, and returns the
request(s) that connection then repeats. Data the run needs once (a user to sign in as) comes
from `setup`, which runs in the orchestrator after migrations and returns `params` for `prepare`.

For example, sign-ins per second would be:

    def _make_bench_user(ctx: SetupContext) -> dict[str, Any]:
        ...create a user through app.accounts.services against ctx.env["DATABASE_URL"]...
        return {"email": "bench@pactline.test", "password": "..."}

    Scenario(
        "pactline sign-ins",
        target="app",
        setup=_make_bench_user,
        prepare=functools.partial(
            csrf_form, page="/login", action="/login", fields=("email", "password"), expect=(303,)
        ),
    )

(the sign-in rate limiter counts failed attempts per IP, so the credentials must be right or
the run measures 429s — which the table shows as errors.)
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from bench.load import Connection, Prepare, Request

CSRF_COOKIE = "pactline_csrf"  # app/asgi.py CSRFConfig(cookie_name=...)
CSRF_HEADER = "X-CSRFToken"


@dataclass(frozen=True)
class SetupContext:
    base_url: str  # the app under test, e.g. http://127.0.0.1:41234
    env: dict[str, str]  # the app's environment: DATABASE_URL, REDIS_URL, SECRET_KEY, ...


@dataclass(frozen=True)
class Scenario:
    name: str  # the row label in the table
    target: Literal["bare", "app"]
    request: Request | None = None
    prepare: Prepare | None = None
    setup: Callable[[SetupContext], dict[str, Any]] | None = None
    notes: str = field(default="", compare=False)  # what it measures, for the JSON report


BASELINE = "bare litestar /"

SCENARIOS: list[Scenario] = [
    Scenario(
        BASELINE,
        target="bare",
        request=Request("GET", "/"),
        notes="Litestar + uvicorn ceiling: one constant JSON handler, no middleware.",
    ),
    Scenario(
        "pactline /health",
        target="app",
        request=Request("GET", "/health"),
        notes="Same body as the bare app, through Pactline's full stack: edge middleware "
        "(security headers, request id, JSON access log), session/CSRF/prometheus "
        "middleware exclusions, exception handlers. No database, no Redis.",
    ),
    Scenario(
        "pactline / (landing page)",
        target="app",
        request=Request("GET", "/", headers=(("Accept", "text/html"),)),
        notes="A first visit: Jinja2 page with the full layout, security headers, a new "
        "CSRF cookie, session and current-user middleware (no cookie sent, so no Redis read).",
    ),
]


def make_sign_in_user(ctx: SetupContext) -> dict[str, Any]:
    """One verified client account, made through the account services, to sign in as."""
    from app.accounts.models import Role
    from app.accounts.services import create_user
    from app.config import load_settings
    from app.db import make_engine, make_sessionmaker

    email, password = "bench.signin@pactline.test", "bench sign-in password 2026"

    async def create() -> None:
        engine = make_engine(load_settings(ctx.env))
        async with make_sessionmaker(engine)() as session, session.begin():
            await create_user(
                session, email=email, name="Bench Client", role=Role.client, password=password, verified=True
            )
        await engine.dispose()

    asyncio.run(create())
    return {"email": email, "password": password}


async def csrf_form(
    conn: Connection,
    params: dict[str, Any],
    *,
    page: str,
    action: str,
    fields: Sequence[str] = (),
    expect: Sequence[int] = (303,),
) -> Request:
    """A `prepare` for form posts: GET `page` to obtain this connection's CSRF cookie, then
    return a POST of `fields` (values taken from `params`) carrying the cookie and token."""
    response = await conn.request(Request("GET", page, headers=(("Accept", "text/html"),)))
    if response.status != 200:
        raise RuntimeError(f"GET {page} answered {response.status}; cannot obtain a CSRF token")
    cookies = response.cookies()
    token = cookies.get(CSRF_COOKIE)
    if not token:
        raise RuntimeError(f"GET {page} set no {CSRF_COOKIE} cookie")
    cookie_header = "; ".join(f"{name}={value}" for name, value in cookies.items())
    form = {name: str(params[name]) for name in fields} | {"_csrf_token": token}
    return Request.form(action, form, headers=(("Cookie", cookie_header), (CSRF_HEADER, token)), expect=expect)


SCENARIOS.append(
    Scenario(
        "pactline sign-in (argon2id)",
        target="app",
        setup=make_sign_in_user,
        prepare=functools.partial(
            csrf_form, page="/login", action="/login", fields=("email", "password"), expect=(303,)
        ),
        notes="POST /login with the right password: argon2id verification (m=19 MiB, t=2, p=1), "
        "session rotation and a new Redis session per sign-in. One server process.",
    )
)
