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


# ---------------------------------------------------------------- find work: search latency

BENCH_JOBS = 10_000
_TITLE_WORDS = [
    "Logo",
    "Website",
    "Python script",
    "Translation",
    "Mobile app",
    "Bookkeeping",
    "Video edit",
    "Copywriting",
]
_TOPICS = [
    "bakery",
    "dentist",
    "law firm",
    "yoga studio",
    "bike shop",
    "hotel",
    "school",
    "brewery",
    "florist",
    "garage",
]
_SKILLS = ["logo design", "wordpress", "python", "german", "react native", "excel", "premiere", "seo"]
SEARCHES = (
    "/jobs?q=logo",
    "/jobs?q=bakery+website",
    "/jobs?q=python+-excel&sort=newest",
    "/jobs?q=%22yoga+studio%22&type=fixed",
    "/jobs?q=translation&budget_min=500&budget_max=2000",
    "/jobs?skills=seo&posted=7",
    "/jobs?q=hotel&page=3",
    "/jobs",
)


def make_search_jobs(ctx: SetupContext) -> dict[str, Any]:
    """10 000 open jobs (5 % invite-only) in one INSERT … SELECT generate_series, owned by one client."""
    from sqlalchemy import text

    from app.accounts.models import Role
    from app.accounts.services import create_user
    from app.config import load_settings
    from app.db import make_engine, make_sessionmaker

    insert = text(
        """
        INSERT INTO jobs (client_id, title, description, skills, budget_type, budget_minor, currency,
                          visibility, status, published_at)
        SELECT :client_id,
               (CAST(:titles AS text[]))[1 + i % 8] || ' for a ' || (CAST(:topics AS text[]))[1 + (i / 8) % 10] || ' #' || i,
               'We are a ' || (CAST(:topics AS text[]))[1 + (i / 8) % 10] || ' looking for help with '
                 || lower((CAST(:titles AS text[]))[1 + i % 8]) || '. ' || repeat('Clear brief, quick answers, fair pay. ', 1 + i % 5),
               ARRAY[(CAST(:skills AS text[]))[1 + i % 8], (CAST(:skills AS text[]))[1 + (i / 3) % 8]],
               CASE WHEN i % 4 = 0 THEN 'hourly' ELSE 'fixed' END,
               5000 + (i * 7919) % 500000,
               'EUR',
               CASE WHEN i % 20 = 0 THEN 'invite_only' ELSE 'public' END,
               'open',
               now() - (i % 60) * interval '1 day'
        FROM generate_series(1, :n) AS i
        """
    )

    async def create() -> None:
        engine = make_engine(load_settings(ctx.env))
        async with make_sessionmaker(engine)() as session, session.begin():
            client = await create_user(
                session, email="bench.jobs@pactline.test", name="Bench Client", role=Role.client, password=None
            )
            await session.execute(
                insert,
                {"client_id": client.id, "n": BENCH_JOBS, "titles": _TITLE_WORDS, "topics": _TOPICS, "skills": _SKILLS},
            )
        async with engine.begin() as conn:  # committed, or the planner never sees the statistics
            await conn.execute(text("ANALYZE jobs"))
        await engine.dispose()

    asyncio.run(create())
    return {}


async def search_plan(conn: Connection, params: dict[str, Any]) -> Sequence[Request]:
    """Each connection cycles through the same mix of searches a visitor would type."""
    return [Request("GET", path, headers=(("Accept", "text/html"),)) for path in SEARCHES]


SCENARIOS.append(
    Scenario(
        "pactline find work (10k jobs)",
        target="app",
        setup=make_search_jobs,
        prepare=search_plan,
        notes=f"GET /jobs over {BENCH_JOBS:,} open jobs: websearch_to_tsquery against the weighted "
        "generated tsvector (GIN), skills/budget/type/posted filters, ts_rank_cd ordering, a count "
        "for pagination and the full Jinja page, cycling through a mix of searches.",
    )
)
