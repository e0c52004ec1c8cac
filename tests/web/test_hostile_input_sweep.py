"""No input makes a 5xx (DESIGN §6): every route, as every persona (visitor, client, contractor,
admin after two-step sign-in), with hostile values in every path parameter, query parameter, form
field, file, JSON body, CSRF token, cookie and the headers the app reads.

What is swept comes from the app itself, so a new route is covered without anyone remembering it:
- the route table gives each route's methods, path parameters and declared query parameters
  (and the names its code reads from `request.query_params`);
- the pages give the forms: each route's own page, the pages above it and those its sample names
  are fetched, and every <form> and htmx request aimed at the route adds its fields (hidden,
  select, checkbox, file and named submit buttons) with the values a browser sends;
- tests/support/samples.py gives the object behind each path parameter. A route with a path
  parameter and no sample fails here, naming the row to add.

Each sample is first proven reachable by a positive control (its owner's plain request gets the
documented success), so hostile values reach the parsing code instead of stopping at a 404.
Then the owner sends the valid request with one field, one query parameter or one path parameter
made hostile at a time (one field of each numbered family), every field hostile at once (also as
htmx), hostile CSRF tokens, hostile cookies and headers, and bodies of the wrong shape; the other
personas send every field hostile at once with a few kinds of value. Unsafe requests carry the
persona's valid CSRF token unless the token is what is being tested. A 429 means a limiter
stopped the request before its values were read: the counters are cleared and it is sent again.

Left out, on purpose: Litestar's automatic OPTIONS answers (they read nothing) and the
development-only mail catcher (/dev/mail is not mounted in the test app). The event stream is
opened and hung up on at once rather than read (it never ends); static files are swept like
any other route. Each run writes what it sent, route by route, to
test-artifacts/hostile-input-sweep.txt."""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import delete, select, text

from app.accounts import mfa
from app.accounts.mfa import totp
from app.accounts.models import Role, User, UserStatus
from app.accounts.services import set_password
from app.config import load_settings
from app.db import Base, load_models
from tests.conftest import ADMIN_TOTP, ARTIFACTS, WebClient, wait_for_other_transactions, web_client
from tests.support.factories import PASSWORD, make_user
from tests.support.forms import Form, forms_on
from tests.support.hostile import (
    FEW,
    FILE_CONTENTS,
    FILE_NAMES,
    HEADER,
    JSON_BODIES,
    JSON_VALUES,
    MEGABYTE,
    MISSING,
    NUMBERS,
    TEXT,
    URL_TEXT,
    Endpoint,
    as_bytes,
    endpoints,
    open_stream,
    urlencoded,
)
from tests.support.samples import SAMPLES, Sample, World
from tests.support.worker import start_test_worker

PERSONAS = ("visitor", "client", "contractor", "admin")
SIGNED_IN = ("client", "contractor", "admin")
CSRF_EXEMPT = ("/webhooks/", "/api/leads", "/health", "/ready", "/metrics", "/static/")
STREAMS = {"/events"}  # long-lived responses: opened, then hung up on
STEP_UP_REFRESH_SECONDS = 5 * 60  # sensitive settings forms need a confirmation under 10 minutes old


def _route_table() -> dict[str, list[Endpoint]]:
    """The route table at collection time, from an app that never connects to anything."""
    from app.asgi import create_app

    env = {"ENVIRONMENT": "test", "LOG_LEVEL": "WARNING", "DATABASE_URL": "postgresql+asyncpg://collect@localhost/none",
           "REDIS_URL": "redis://localhost:1/0", "SMTP_URL": "smtp://localhost:1"}  # fmt: skip
    return endpoints(create_app(load_settings(env)))


ROUTES = _route_table()


def missing_sample_message(path: str) -> str:
    return (
        f"{path} has path parameters but no sample object: add a row to SAMPLES in tests/support/samples.py, "
        f'e.g. @sample("{path}") with a factory that makes a real object and returns Sample(owner=..., params=...)'
    )


def test_every_route_with_path_parameters_has_a_sample():
    missing = [path for path, eps in ROUTES.items() if eps[0].path_params and path not in SAMPLES]
    assert not missing, "\n".join(missing_sample_message(path) for path in missing)


def test_every_sample_belongs_to_a_route():
    stale = sorted(set(SAMPLES) - set(ROUTES))
    assert not stale, f"samples for routes that no longer exist (remove them): {stale}"


# ---------------------------------------------------------------- personas for the whole module


@dataclass
class Personas:
    """Signed-in browsers kept for the module: signing in costs two argon2 hashes per person,
    too slow to repeat for each of a hundred routes. Each test first puts them back as they were."""

    app: Any
    users: dict[str, int] = field(default_factory=dict)  # persona → user id
    passwords_set_at: dict[str, Any] = field(default_factory=dict)  # when each password was last set to PASSWORD
    clients: dict[str, WebClient] = field(default_factory=dict)
    confirmed_at: dict[str, float] = field(default_factory=dict)

    NAMES = {"client": "Sweep Client", "contractor": "Sweep Contractor", "admin": "Sweep Admin"}

    def email(self, persona: str) -> str:
        return f"{persona}@sweep.example.test"

    async def create(self) -> None:
        async with self.app.state.sessionmaker() as db:
            for persona in SIGNED_IN:
                user = await make_user(db, role=Role(persona), email=self.email(persona), name=self.NAMES[persona])
                if persona == "admin":
                    await mfa.enable(db, user, ADMIN_TOTP, self.app.state.settings.secret_key)
                    await db.commit()
                self.users[persona] = user.id
                self.passwords_set_at[persona] = user.password_changed_at
        for persona in SIGNED_IN:
            await self.sign_in(persona)

    async def sign_in(self, persona: str) -> None:
        if persona in self.clients:
            await self.clients[persona].aclose()
        c = web_client(self.app)
        if persona == "admin":
            await self.forget_spent_codes()
        await c.sign_in(self.email(persona), totp_secret=ADMIN_TOTP if persona == "admin" else None)
        self.clients[persona] = c
        await self.confirm(persona)

    async def confirm(self, persona: str) -> None:
        """Confirm it's them (step-up), as the settings forms ask before sensitive changes."""
        c = self.clients[persona]
        if persona == "admin":
            await self.forget_spent_codes()
        value = {"code": totp(ADMIN_TOTP).now()} if persona == "admin" else {"password": PASSWORD}
        answer = await c.post_form("/settings/confirm", value)
        assert answer.status_code == 303, f"{persona} could not confirm: {answer.status_code}"
        self.confirmed_at[persona] = time.monotonic()

    async def forget_spent_codes(self) -> None:
        """Each authenticator code is accepted once; the sweep re-uses the current one for its
        admin's sign-ins and confirmations, so it forgets which step was last spent."""
        async with self.app.state.sessionmaker() as db:
            user = await db.get(User, self.users["admin"])
            user.totp_last_step = None
            await db.commit()

    async def heal(self) -> None:
        """Undo what the last route did to the people: their names, e-mail, password, two-step
        sign-in and account state, and sign them in again if a request signed them out."""
        async with self.app.state.sessionmaker() as db:
            for persona, user_id in self.users.items():
                user = await db.get(User, user_id)
                user.name, user.email, user.status = self.NAMES[persona], self.email(persona), UserStatus.active
                user.totp_last_step = None  # the /login/mfa and /settings/confirm samples spend the current code
                if persona == "admin" and user.mfa_enabled_at is None:
                    await mfa.enable(db, user, ADMIN_TOTP, self.app.state.settings.secret_key)
                if persona != "admin" and user.mfa_enabled_at is not None:
                    await mfa.disable(db, user)
            await db.commit()
            for persona, user_id in self.users.items():
                user = await db.get(User, user_id)
                if user.password_changed_at != self.passwords_set_at[persona]:  # a swept password form changed it
                    await set_password(user, PASSWORD)
                    await db.commit()
                    self.passwords_set_at[persona] = user.password_changed_at
                answer = await self.clients[persona].get("/settings")
                if answer.status_code != 200:
                    await self.sign_in(persona)
                elif time.monotonic() - self.confirmed_at[persona] > STEP_UP_REFRESH_SECONDS:
                    await self.confirm(persona)

    async def session_keys(self) -> set[bytes]:
        keys = {f"user-sessions:{user_id}".encode() for user_id in self.users.values()}
        for c in self.clients.values():
            if sid := c.cookies.get("pactline_session"):
                keys.add(f"sessions:{sid}".encode())
        return keys


@pytest.fixture(scope="module")
async def personas(app):
    people = Personas(app)
    await empty_all_but_people(app, None)
    await people.create()
    yield people
    for c in people.clients.values():
        await c.aclose()


async def empty_all_but_people(app, people: Personas | None) -> None:
    load_models()
    names = [t.name for t in Base.metadata.sorted_tables if t.name != "users"]
    keep = list(people.users.values()) if people else []
    # The previous test's worker has finished its jobs and stopped (see clean_slate in conftest):
    # one truncation, no retry.
    await wait_for_other_transactions(app.state.engine)
    async with app.state.engine.begin() as conn:
        # Truncating only the tables a route wrote to is several times faster than all of them.
        used = [row[0] for row in await conn.execute(text(_tables_with_rows(names)))]
        if used:
            tables = ", ".join(f'"{n}"' for n in used)
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        await conn.execute(delete(User).where(User.id.not_in(keep)) if keep else delete(User))
    redis = app.state.redis
    kept = await people.session_keys() if people else set()
    doomed = [key async for key in redis.scan_iter(count=1000) if key not in kept]
    if doomed:
        await redis.delete(*doomed)


def _tables_with_rows(names: list[str]) -> str:
    return " UNION ALL ".join(f"SELECT '{n}' WHERE EXISTS (SELECT 1 FROM \"{n}\")" for n in names)  # noqa: S608 — table names from our models


@pytest.fixture(autouse=True)
async def clean_slate(app, smtp_server, personas):
    """This module's clean slate: every table emptied and Redis emptied, except the personas
    (their user rows and their sessions), who are then put back as they were."""
    await empty_all_but_people(app, personas)
    smtp_server.messages.clear()
    worker = await start_test_worker(app)
    try:
        await personas.heal()
        yield
    finally:
        await worker.finish()


@pytest.fixture(scope="module")
def fake_kyc():
    from tests.support.fake_kyc import FakeKYC

    provider = FakeKYC()
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture
async def world(app, db, personas, fake_oidc, fake_kyc, fake_stripe):
    fake_oidc.reset()
    users = {p: (await db.scalars(select(User).where(User.id == uid))).one() for p, uid in personas.users.items()}
    w = World(
        app,
        db,
        users,
        {"visitor": web_client(app), **personas.clients},
        {"oidc": fake_oidc, "kyc": fake_kyc, "stripe": fake_stripe},
    )
    try:
        yield w
    finally:
        w.restore()
        await w.clients["visitor"].aclose()


# ---------------------------------------------------------------- server errors, with their cause


class ServerErrors(logging.Handler):
    """The exception behind a 500, from the app's error log, for the failure message."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.last: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            self.last = f"{type(exc).__name__}: {' '.join(str(exc).split())[:160]}"


@pytest.fixture(scope="module", autouse=True)
def quiet_request_logs():
    """Thousands of requests: their access-log lines would cost more than the requests."""
    loggers = [logging.getLogger(name) for name in ("pactline.access", "httpx")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


@pytest.fixture
def server_errors():
    """The app's error log goes to this handler only: formatting a thousand tracebacks would slow
    the sweep down, and each failure line names its exception anyway."""
    handler = ServerErrors()
    logger = logging.getLogger("pactline.web")
    logger.addHandler(handler)
    logger.propagate = False
    yield handler
    logger.propagate = True
    logger.removeHandler(handler)


# ---------------------------------------------------------------- the sweep of one route


@dataclass
class Baseline:
    """One persona's valid request for one endpoint: the page's form with the sample's values."""

    fields: dict[str, Any]  # form fields and the values a browser sends (files apart)
    files: dict[str, tuple[str, bytes, str]]  # the valid files
    file_fields: list[str]
    multipart: bool
    query: dict[str, str]
    query_names: list[str]


def families(names: list[str]) -> list[str]:
    """One field of each numbered family (m1_title, m2_title, …): the rows are read by one loop."""
    seen: set[str] = set()
    first = []
    for name in names:
        family = re.sub(r"\d+", "#", name)
        if family not in seen:
            seen.add(family)
            first.append(name)
    return first


class Sweep:
    def __init__(self, app, world: World, path: str, errors: ServerErrors) -> None:
        self.app, self.world, self.path, self.errors = app, world, path, errors
        # Safe methods first: the control's GET must see the object before a POST changes it.
        self.endpoints = sorted(endpoints(app)[path], key=lambda ep: ep.method not in ("GET", "HEAD"))
        self.factory = SAMPLES.get(path)
        self.failures: list[str] = []
        self.causes: list[str] = []  # the exception behind each failure, for the tally
        self.sent = 0
        self.reached: set[str] = set()  # personas whose plain request got through (routes without a sample)

    # ------------------------------------------------------------ sending

    def client(self, persona: str) -> WebClient:
        return self.world.clients[persona]

    async def send(self, ep: Endpoint, persona: str, where: str, kind: str, url: str, **kwargs) -> int:
        """One request; a 5xx (or an exception escaping the app) becomes a failure line."""
        client = kwargs.pop("client", None) or self.client(persona)
        for attempt in (1, 2):
            self.errors.last = None
            self.sent += 1
            try:
                if self.path in STREAMS and ep.method == "GET":
                    status = await self.open_stream(client, ep.method, url, kwargs.get("headers") or {})
                else:
                    status = (await client.request(ep.method, url, **kwargs)).status_code
            except Exception as exc:  # the app let an exception out instead of answering
                status, self.errors.last = 599, f"{type(exc).__name__}: {' '.join(str(exc).split())[:160]}"
            if status == 429 and attempt == 1:
                await self.clear_rate_limits()
                continue
            break
        if status >= 500:
            cause = f" ({self.errors.last})" if self.errors.last else ""
            self.failures.append(f"{ep.method} {self.path} as {persona}: {where} = {kind} → {status}{cause}")
            self.causes.append(self.errors.last or f"{status} without an exception")
        return status

    async def open_stream(self, client: WebClient, method: str, url: str, headers: dict) -> int:
        raw = [(k.lower().encode(), as_bytes(v)) for k, v in headers.items()]
        jar = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        if jar and not any(k == b"cookie" for k, _ in raw):
            raw.append((b"cookie", jar.encode()))
        return await open_stream(self.app, method, url, raw)

    async def token(self, persona: str) -> str:
        """The persona's CSRF token: its cookie, which is what the pages put in their forms."""
        c = self.client(persona)
        return c.cookies.get("pactline_csrf") or await c.csrf_token()

    async def clear_rate_limits(self) -> None:
        redis = self.app.state.redis
        keys = [key async for key in redis.scan_iter(match="ratelimit:*", count=1000)]
        if keys:
            await redis.delete(*keys)

    def url(self, ep: Endpoint, params: dict[str, Any], query: dict[str, Any]) -> str:
        qs = urlencoded(list(query.items()))
        return ep.url(params) + (f"?{qs}" if qs else "")

    def owner_headers(self, sample: Sample | None, persona: str) -> dict[str, str]:
        """What only the owner's requests carry (an API key)."""
        return dict(sample.headers) if sample and persona == sample.owner else {}

    # ------------------------------------------------------------ what the pages say

    def pages_for(self, sample: Sample | None) -> list[str]:
        """The route's own page, the pages above it (the landing page apart) and those the sample names."""
        params = sample.params if sample else {}
        pages = []
        for template, eps in endpoints(self.app).items():
            ep = next((e for e in eps if e.method == "GET"), None)
            if ep is None or template in STREAMS or not set(ep.path_params) <= set(params):
                continue
            if template == self.path or (template != "/" and self.path.startswith(template + "/")):
                pages.append(ep.url(params))
        return list(dict.fromkeys([*pages, *(sample.pages if sample else [])]))

    async def forms(self, sample: Sample | None, personas: tuple[str, ...]) -> dict[str, list[Form]]:
        """The forms aimed at this route that each persona's pages show."""
        own_page = next((ep.url(sample.params if sample else {}) for ep in self.endpoints if ep.method == "GET"), None)
        found: dict[str, list[Form]] = {p: [] for p in personas}
        for persona in personas:
            for page in self.pages_for(sample):
                if sample is not None and sample.single_use and page == own_page:
                    continue  # opening a single-use link would use it up
                answer = await self.client(persona).get(page, headers=self.owner_headers(sample, persona))
                if page == own_page and answer.status_code < 300:
                    self.reached.add(persona)
                if answer.status_code != 200 or "html" not in answer.headers.get("content-type", ""):
                    continue
                for form in forms_on(answer.text, page):
                    if any(ep.matches(form.method, form.action.partition("?")[0]) for ep in self.endpoints):
                        found[persona].append(form)
        return found

    def baseline(self, ep: Endpoint, sample: Sample | None, forms: dict[str, list[Form]], persona: str) -> Baseline:
        def aimed(fs: list[Form]) -> list[Form]:
            return [f for f in fs if ep.matches(f.method, f.action.partition("?")[0])]

        mine = aimed(forms.get(sample.owner if sample else persona, []))
        every = aimed([f for fs in forms.values() for f in fs])
        fields: dict[str, Any] = {}
        for form in mine or every:
            fields = form.values() | fields
        names = list(dict.fromkeys(n for f in every for n in f.names()))
        fields |= {n: "" for n in names if n not in fields}
        file_fields = list(dict.fromkeys(x.name for f in every for x in f.fields if x.kind == "file"))
        if sample:
            fields |= sample.form
            file_fields = list(dict.fromkeys([*file_fields, *sample.files]))
        for name in file_fields:
            fields.pop(name, None)
        query = dict(sample.query) if sample else {}
        gets = names if ep.method in ("GET", "HEAD") else []  # a GET form's fields are query parameters
        return Baseline(
            fields=fields,
            files=dict(sample.files) if sample else {},
            file_fields=file_fields,
            multipart=any(f.multipart for f in every) or bool(sample and sample.files),
            query=query,
            query_names=list(dict.fromkeys([*ep.query_params(), *query, *gets])),
        )

    # ------------------------------------------------------------ building a request

    async def body(
        self, persona: str, sample: Sample | None, base: Baseline, fields: dict[str, Any], files=None
    ) -> dict[str, Any]:
        """httpx arguments for a form body with the persona's CSRF token (unless the token is the
        field under test)."""
        headers = self.owner_headers(sample, persona)
        token_under_test = fields.get("_csrf_token", "") != base.fields.get("_csrf_token", "")
        if not self.path.startswith(CSRF_EXEMPT) and not token_under_test:
            fields = {**fields, "_csrf_token": await self.token(persona)}
        if base.multipart:
            chosen = base.files if files is None else files
            return {
                "data": {k: v for k, v in fields.items() if v is not MISSING},
                "files": {k: v for k, v in chosen.items() if v is not MISSING} or None,
                "headers": headers,
            }
        content = urlencoded(list(fields.items())).encode()
        return {"content": content, "headers": {**headers, "Content-Type": "application/x-www-form-urlencoded"}}

    def json_body(self, sample: Sample, persona: str, raw: bytes) -> dict[str, Any]:
        headers = {**self.owner_headers(sample, persona), "Content-Type": "application/json"}
        if sample.sign:
            headers |= sample.sign(raw)  # a valid signature, so the body is read
        return {"content": raw, "headers": headers}

    # ------------------------------------------------------------ the positive control

    async def control(self, sample: Sample) -> None:
        forms = await self.forms(sample, (sample.owner,))
        for ep in self.endpoints:
            base = self.baseline(ep, sample, forms, sample.owner)
            url = self.url(ep, sample.params, base.query)
            if ep.method in ("GET", "HEAD"):
                kwargs: dict[str, Any] = {"headers": dict(sample.headers)}
            elif sample.json is not None:
                kwargs = self.json_body(sample, sample.owner, _dumps(sample.json))
            else:
                kwargs = await self.body(sample.owner, sample, base, base.fields)
            status = await self.send(ep, sample.owner, "positive control", "valid request", url, **kwargs)
            expected = sample.success(ep.method)
            assert status == expected, (
                f"positive control: {ep.method} {self.path} as its owner ({sample.owner}) got {status}, "
                f"expected {expected}; fix the row in tests/support/samples.py so requests reach the handler "
                f"(params {sample.params}, fields {sorted(base.fields)})"
            )

    async def renew(self, sample: Sample) -> Sample:
        """A single-use sample a hostile value was accepted on is used up: a fresh one for the
        values still to come (same form, so the baseline stays valid)."""
        fresh = await self.factory(self.world)
        sample.params = fresh.params
        return sample

    # ------------------------------------------------------------ the sweep

    async def run(self) -> None:
        if any(ep.path_params for ep in self.endpoints) and self.factory is None:
            pytest.fail(missing_sample_message(self.path))
        sample = None
        if self.factory is not None:
            sample = await self.factory(self.world)
            await self.control(sample)
            await self.world.new_visitor()  # the control may have signed the visitor in
            read_only = all(ep.method in ("GET", "HEAD") for ep in self.endpoints)
            if sample.single_use or not read_only:  # the control used it up or changed it: a fresh one
                sample = await self.factory(self.world)
        self.reached.clear()
        # A route with a sample is swept with its owner's forms; one without, with everybody's.
        forms = await self.forms(sample, (sample.owner,) if sample else PERSONAS)
        for ep in self.endpoints:
            for persona in PERSONAS:
                # The owner gets every value in every place; a route without a sample is swept in
                # full by each persona its page lets in (or by all, when it has no page).
                full = persona == sample.owner if sample else (persona in self.reached or not self.reached)
                base = self.baseline(ep, sample, forms, persona)
                if ep.method in ("GET", "HEAD"):
                    await self.sweep_safe(ep, persona, sample, base, full)
                elif sample is not None and sample.json is not None:
                    await self.sweep_json(ep, persona, sample, full)
                else:
                    await self.sweep_unsafe(ep, persona, sample, base, full)

    async def sweep_safe(self, ep: Endpoint, persona: str, sample: Sample | None, base: Baseline, full: bool) -> None:
        params, headers = (dict(sample.params) if sample else {}), self.owner_headers(sample, persona)
        names = [*base.query_names, "sweep"]  # plus one nobody declared
        for kind, value in URL_TEXT.items() if full else _few(URL_TEXT):  # every query parameter at once
            value = value[: 8192 // len(names)] if isinstance(value, str) else value  # the URL stays under 8 KB
            query = {**base.query, **{name: value for name in names}}
            await self.send(ep, persona, f"query {names}", kind, self.url(ep, params, query), headers=headers)
        if not full:
            return
        for name in base.query_names:
            for kind, value in URL_TEXT.items():
                url = self.url(ep, params, {**base.query, name: value})
                status = await self.send(ep, persona, f"query {name!r}", kind, url, headers=headers)
                if used_up(sample, status):
                    params = (await self.renew(sample)).params

        async def plain() -> dict[str, Any]:
            return {"headers": dict(headers)}

        await self.sweep_path(ep, persona, sample, base.query, plain)
        await self.sweep_headers(ep, persona, self.url(ep, params, base.query), plain)

    async def sweep_unsafe(self, ep: Endpoint, persona: str, sample: Sample | None, base: Baseline, full: bool) -> None:
        params = dict(sample.params) if sample else {}
        url = self.url(ep, params, base.query)
        hostile = [n for n in base.fields if n != "_csrf_token"] or ["sweep"]
        htmx = (False, True) if full and ep.takes_body else (False,)
        for kind, value in TEXT.items() if full else _few(TEXT):  # every field (and the query) at once
            query = {**base.query, "sweep": value[:8192] if isinstance(value, str) else value}
            for as_htmx in htmx:  # htmx requests get their errors as toasts in headers
                kwargs = await self.body(persona, sample, base, {**base.fields, **{n: value for n in hostile}})
                if as_htmx:
                    kwargs["headers"] = {**kwargs["headers"], "HX-Request": "true"}
                where = f"every field{' (htmx)' if as_htmx else ''} and query 'sweep'"
                status = await self.send(ep, persona, where, kind, self.url(ep, params, query), **kwargs)
                if used_up(sample, status):
                    params = dict((await self.renew(sample)).params)
                    url = self.url(ep, params, base.query)
        if not full:
            return
        # A megabyte in every field at once: a clear refusal (413 or a form error), never a 5xx.
        kwargs = await self.body(persona, sample, base, {**base.fields, **{n: MEGABYTE for n in hostile}})
        if used_up(sample, await self.send(ep, persona, "every field", "1 MB string", url, **kwargs)):
            url = self.url(ep, (await self.renew(sample)).params, base.query)
        for name in families(list(base.fields)):  # one field at a time, the others valid
            for kind, value in TEXT.items():
                kwargs = await self.body(persona, sample, base, {**base.fields, name: value})
                status = await self.send(ep, persona, f"field {name!r}", kind, url, **kwargs)
                if used_up(sample, status):
                    url = self.url(ep, (await self.renew(sample)).params, base.query)
        await self.sweep_csrf(ep, persona, sample, base, url)
        if ep.takes_body:
            await self.sweep_files(ep, persona, sample, base, url)
            await self.sweep_shapes(ep, persona, sample, url)

        async def valid() -> dict[str, Any]:
            return await self.body(persona, sample, base, base.fields)

        await self.sweep_path(ep, persona, sample, base.query, valid)
        await self.sweep_headers(ep, persona, url, valid)

    async def sweep_path(self, ep: Endpoint, persona: str, sample: Sample | None, query, request) -> None:
        params = dict(sample.params) if sample else {}
        for name, kind in ep.path_params.items():
            values = NUMBERS if kind == "int" else {k: v for k, v in URL_TEXT.items() if isinstance(v, str | bytes)}
            for value_kind, value in values.items():
                url = self.url(ep, {**params, name: value}, query)
                await self.send(ep, persona, f"path parameter {name!r}", value_kind, url, **await request())

    async def sweep_headers(self, ep: Endpoint, persona: str, url: str, request) -> None:
        """Headers and cookies, once per route (every method reads them the same way)."""
        if ep is not self.endpoints[0]:
            return
        for kind, value in HEADER.items():
            kwargs = await request()
            kwargs["headers"] = {**kwargs.get("headers", {}), **{name: value for name in READ_HEADERS}}
            await self.send(ep, persona, f"headers {list(READ_HEADERS)}", kind, url, **kwargs)
        for kind in ("non-ASCII", "8 KB string", "invalid UTF-8"):
            for cookie in ("pactline_session", "pactline_csrf"):
                kwargs = await request()
                jar = {**self.client(persona).cookies, cookie: HEADER[kind]}
                kwargs["headers"] = {**kwargs.get("headers", {}), "Cookie": _cookie_header(jar)}
                # A browser of its own: the answer may set cookies the persona must not keep.
                async with web_client(self.app) as other:
                    await self.send(ep, persona, f"cookie {cookie!r}", kind, url, client=other, **kwargs)

    async def sweep_csrf(self, ep: Endpoint, persona: str, sample, base: Baseline, url: str) -> None:
        """Hostile CSRF tokens in the header and the cookie (the form field is swept with the
        other fields), and tokens of the right length with characters a token never has."""
        if self.path.startswith(CSRF_EXEMPT):
            return
        valid = await self.token(persona)
        fields = {k: v for k, v in base.fields.items() if k != "_csrf_token"}
        tokens = {
            **HEADER,
            "another browser's token": "x" * 64,
            "token with non-ASCII characters": valid[:64] + "ü" * 64,
        }
        for kind, value in tokens.items():
            kwargs = await self.body(persona, sample, base, {**fields, "_csrf_token": MISSING})
            kwargs["headers"] = {
                **kwargs["headers"],
                "X-CSRFToken": value.encode() if isinstance(value, str) else value,
            }
            await self.send(ep, persona, "CSRF header", kind, url, **kwargs)
        odd = valid[:64] + "ü" * 64
        kwargs = await self.body(persona, sample, base, {**fields, "_csrf_token": odd})
        await self.send(ep, persona, "field '_csrf_token'", "token with non-ASCII characters", url, **kwargs)
        kwargs = await self.body(persona, sample, base, base.fields)
        jar = {**self.client(persona).cookies, "pactline_csrf": odd}
        kwargs["headers"] = {**kwargs["headers"], "Cookie": _cookie_header(jar)}
        async with web_client(self.app) as other:
            await self.send(ep, persona, "cookie 'pactline_csrf'", "token with non-ASCII characters", url,
                            client=other, **kwargs)  # fmt: skip

    async def sweep_files(self, ep: Endpoint, persona: str, sample, base: Baseline, url: str) -> None:
        if not base.multipart:
            return
        for name in base.file_fields:
            good = base.files.get(name, ("document.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf"))
            uploads: dict[str, Any] = {kind: (filename, good[1], good[2]) for kind, filename in FILE_NAMES.items()}
            uploads |= {kind: (good[0], content, ctype) for kind, (content, ctype) in FILE_CONTENTS.items()}
            uploads["missing"] = MISSING
            for kind, upload in uploads.items():
                kwargs = await self.body(persona, sample, base, base.fields, {**base.files, name: upload})
                await self.send(ep, persona, f"file {name!r}", kind, url, **kwargs)
            others = {k: v for k, v in base.files.items() if k != name}
            kwargs = await self.body(persona, sample, base, {**base.fields, name: "not a file"}, others)
            await self.send(ep, persona, f"file {name!r}", "text instead of a file", url, **kwargs)

    async def sweep_shapes(self, ep: Endpoint, persona: str, sample, url: str) -> None:
        """The body as a whole: empty, JSON where a form is expected, an unknown content type."""
        headers = {**self.owner_headers(sample, persona), "X-CSRFToken": await self.token(persona)}
        for kind, (content, content_type) in BODIES.items():
            kwargs = {"content": content, "headers": {**headers, "Content-Type": content_type}}
            await self.send(ep, persona, "body", kind, url, **kwargs)

    async def sweep_json(self, ep: Endpoint, persona: str, sample: Sample, full: bool) -> None:
        url = self.url(ep, sample.params, sample.query)
        for kind, value in JSON_VALUES.items() if full else _few(JSON_VALUES):  # every field at once
            body = {k: value for k in sample.json if value is not MISSING}
            await self.send(ep, persona, "every JSON field", kind, url, **self.json_body(sample, persona, _dumps(body)))
        if not full:
            return
        for name in [*sample.json, "unknown"]:
            for kind, value in JSON_VALUES.items():
                body = {k: v for k, v in {**sample.json, name: value}.items() if v is not MISSING}
                kwargs = self.json_body(sample, persona, _dumps(body))
                await self.send(ep, persona, f"JSON field {name!r}", kind, url, **kwargs)
        for kind, raw in JSON_BODIES.items():
            await self.send(ep, persona, "JSON body", kind, url, **self.json_body(sample, persona, raw))
        as_form = {"content": urlencoded(list(sample.json.items())).encode(),
                   "headers": {**sample.headers, "Content-Type": "application/x-www-form-urlencoded"}}  # fmt: skip
        await self.send(ep, persona, "body", "a form instead of JSON", url, **as_form)
        for kind, value in HEADER.items():  # the API key and the content type
            kwargs = self.json_body(sample, persona, _dumps(sample.json))
            kwargs["headers"] |= {name: value for name in sample.headers} | {"Content-Type": value}
            await self.send(ep, persona, f"headers {[*sample.headers, 'Content-Type']}", kind, url, **kwargs)


# Headers the app or Litestar reads on the way in.
READ_HEADERS = ("HX-Request", "HX-Target", "HX-Current-URL", "Referer", "Accept", "Accept-Language", "User-Agent",
                "X-Request-ID", "X-Forwarded-For", "Last-Event-ID", "Content-Type")  # fmt: skip
# Whole bodies that are not the form a route expects.
BODIES = {
    "empty body": (b"", "application/x-www-form-urlencoded"),
    "JSON instead of a form": (b'{"title": ["a"], "_csrf_token": 1}', "application/json"),
    "plain text": (b"hello", "text/plain"),
    "multipart without a boundary": (b"--x\r\n", "multipart/form-data"),
    "broken multipart": (
        b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nb',
        "multipart/form-data; boundary=x",
    ),
    "invalid percent escapes": (b"a=%zz&b=%&%ff=%fe", "application/x-www-form-urlencoded"),
}


def used_up(sample: Sample | None, status: int) -> bool:
    """Whether a single-use sample may just have been used up: the request was not refused (a
    success is a 303, or a 200 with HX-Redirect for htmx)."""
    return sample is not None and sample.single_use and status < 400


def _few(values: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(kind, value) for kind, value in values.items() if kind in FEW]


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=True).encode()


def _cookie_header(jar: dict[str, str | bytes]) -> bytes:
    return b"; ".join(as_bytes(k) + b"=" + as_bytes(v) for k, v in jar.items())


TALLY: dict[str, Sweep] = {}  # route → its sweep
SECONDS: dict[str, float] = {}


@pytest.fixture(scope="module", autouse=True)
def tally():
    """What the sweep sent route by route, and its 5xx grouped by cause: test-artifacts/hostile-input-sweep.txt."""
    yield
    if not TALLY:
        return
    rows = [f"{s.sent:6d} requests {SECONDS[p]:6.1f} s {len(s.failures):5d} 5xx  {p}" for p, s in sorted(TALLY.items())]
    sent, seconds = sum(s.sent for s in TALLY.values()), sum(SECONDS.values())
    failures = sum(len(s.failures) for s in TALLY.values())
    rows.append(f"{sent:6d} requests {seconds:6.1f} s {failures:5d} 5xx  in all, {len(TALLY)} routes\n")
    causes: dict[str, list[str]] = {}
    for sweep in TALLY.values():
        for line, cause in zip(sweep.failures, sweep.causes, strict=True):
            cause = re.sub(r"\(sqlalchemy[^)]*\) ", "", cause).split(" [SQL")[0][:100]
            causes.setdefault(cause, []).append(line)
    for cause, lines in sorted(causes.items(), key=lambda item: -len(item[1])):
        rows.append(f"{len(lines):5d} × {cause}\n        e.g. {lines[0][:200]}")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "hostile-input-sweep.txt").write_text("\n".join(rows) + "\n")


@pytest.mark.parametrize("path", sorted(ROUTES))
async def test_no_hostile_value_makes_a_server_error(path, app, world, server_errors):
    sweep = Sweep(app, world, path, server_errors)
    started = time.perf_counter()
    try:
        await sweep.run()
    finally:
        TALLY[path], SECONDS[path] = sweep, time.perf_counter() - started
    assert not sweep.failures, f"{len(sweep.failures)} of {sweep.sent} requests got a 5xx:\n" + "\n".join(
        sweep.failures[:60]
    )
