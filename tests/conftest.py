"""Shared fixtures: embedded Postgres + Redis for the run, a clean slate per test, personas,
a live server, an SSE client and Playwright on Debian's Chromium."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from app.accounts.mfa import enable as enable_mfa
from app.accounts.mfa import totp
from app.accounts.models import Role
from app.config import load_settings
from app.db import Base, load_models
from app.platform.embedded import EmbeddedServices
from app.platform.migrate import upgrade
from tests.support.factories import PASSWORD, make_user
from tests.support.live import LiveServer
from tests.support.smtp import SMTPServer
from tests.support.worker import start_test_worker

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
PHONE = {"width": 390, "height": 844}
SMALL_PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}


# ---------------------------------------------------------------- services and settings


@pytest.fixture(scope="session")
def services():
    """One throw-away Postgres + Redis for the whole run (short path: unix sockets have a length limit)."""
    data_dir = Path(tempfile.mkdtemp(prefix="pl-test-"))
    embedded = EmbeddedServices(data_dir, database="pactline_test")
    urls = embedded.start()
    yield urls
    embedded.destroy()


@pytest.fixture(scope="session")
def smtp_server():
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def test_env(services, smtp_server) -> dict[str, str]:
    env = {
        **services,
        "ENVIRONMENT": "test",
        "SMTP_URL": smtp_server.url,
        "LOG_LEVEL": "WARNING",
        "SSE_HEARTBEAT_SECONDS": "1",
        # Each test runs its own job worker (clean_slate), stopped before the next test's wipe.
        "RUN_WORKER_IN_PROCESS": "0",
        # argon2id's cheapest parameters: a persona's sign-up and sign-in cost microseconds, not
        # tens of milliseconds. tests/accounts/test_password_hashing.py keeps the production ones.
        "PASSWORD_HASH_PROFILE": "test",
        # Uploads go to a throw-away folder, never into the developer's .data/.
        "PACTLINE_DATA_DIR": tempfile.mkdtemp(prefix="pl-data-"),
    }
    os.environ.update(env)
    return env


@pytest.fixture(scope="session")
def settings(test_env):
    settings = load_settings(test_env)
    # Alembic's env runs its own event loop: keep it off the (possibly running) test loop.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(upgrade, settings).result()
    return settings


@contextlib.asynccontextmanager
async def lifespan_of(application):
    """Run the app's lifespan in a task of its own: its cancel scopes must enter and exit in
    one task, while pytest sets fixtures up and tears them down in different ones."""
    ready, stop = asyncio.Event(), asyncio.Event()

    async def hold():
        async with application.lifespan():
            ready.set()
            await stop.wait()

    task = asyncio.create_task(hold())
    await asyncio.wait({task, asyncio.create_task(ready.wait())}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()
    try:
        yield application
    finally:
        stop.set()
        await task


@pytest.fixture(scope="session")
async def app(settings):
    from app.asgi import create_app
    from app.payments.tasks import send_webhooks_through

    application = create_app(settings)
    # No server listens at APP_BASE_URL in tests: the sandbox's webhooks reach this app in-process.
    send_webhooks_through(httpx.ASGITransport(app=application))
    async with lifespan_of(application):  # once per run: the outbox dispatcher
        yield application


async def wait_for_other_transactions(engine, timeout: float = 10.0) -> None:
    """Wait until no other connection to the test database is inside a transaction (a request
    of the live server still finishing, a session a test left open), so that the wipe that
    follows takes its locks on a quiet database. One that stays open is a leak: fail, naming it."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with engine.connect() as conn:  # a transaction per look: pg_stat_activity is a snapshot
            busy = (await conn.execute(text(_OTHER_TRANSACTIONS))).all()
        if not busy:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"transactions still open {timeout:.0f} s after the test ended: {busy}")
        await asyncio.sleep(0.02)


_OTHER_TRANSACTIONS = """
    SELECT pid, application_name, state, now() - xact_start AS open_for, left(query, 200) AS query
    FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()
      AND backend_type = 'client backend' AND xact_start IS NOT NULL
"""


@pytest.fixture(autouse=True)
async def clean_slate(app, smtp_server):
    """Truncate every table and empty Redis before each test: tests that need real commits
    (outbox, SSE, browser, races) cannot be isolated by a rolled-back transaction.

    The test's job worker is started on the wiped slate and stopped after the test, the jobs it
    is running finished first (tests/support/worker.py). So no job of one test holds locks while
    the next one truncates, and the truncation runs once: a deadlock here is a bug, and fails."""
    load_models()
    await wait_for_other_transactions(app.state.engine)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with app.state.engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await app.state.redis.flushdb()
    smtp_server.messages.clear()
    worker = await start_test_worker(app)
    try:
        yield
    finally:
        await worker.finish()


@pytest.fixture
async def db(app):
    async with app.state.sessionmaker() as session:
        yield session


# ---------------------------------------------------------------- clients and personas

_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)"')


class WebClient(httpx.AsyncClient):
    """A browser-like client: keeps cookies, knows its user, sends the CSRF token with forms."""

    user = None
    _csrf: str | None = None

    async def csrf_token(self) -> str:
        if self._csrf is None:
            page = await self.get("/login")
            match = _CSRF_META.search(page.text)
            assert match, "no csrf-token meta tag on /login"
            self._csrf = match.group(1)
        return self._csrf

    async def post_form(self, url: str, data: dict[str, str] | None = None, **kwargs) -> httpx.Response:
        payload = {"_csrf_token": await self.csrf_token(), **(data or {})}
        return await self.post(url, data=payload, **kwargs)

    async def htmx(self, method: str, url: str, **kwargs) -> httpx.Response:
        headers = {"HX-Request": "true", "X-CSRFToken": await self.csrf_token(), **kwargs.pop("headers", {})}
        return await self.request(method, url, headers=headers, **kwargs)

    async def sign_in(self, email: str, password: str = PASSWORD, totp_secret: str | None = None) -> httpx.Response:
        response = await self.post_form("/login", {"email": email, "password": password})
        assert response.status_code == 303, response.text[:500]
        if totp_secret is not None:
            assert response.headers["location"] == "/login/mfa"
            response = await self.post_form("/login/mfa", {"code": totp(totp_secret).now()})
            assert response.status_code == 303, response.text[:500]
        return response


def web_client(app) -> WebClient:
    return WebClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver", follow_redirects=False)


@pytest.fixture
async def anonymous(app):
    async with web_client(app) as c:
        yield c


ADMIN_TOTP = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@contextlib.asynccontextmanager
async def persona(app, db, role: Role, email: str):
    """A signed-in browser-like client for a new user of `role` (admins with two-step sign-in)."""
    user = await make_user(db, role=role, email=email)
    secret = None
    if role == Role.admin:
        secret = ADMIN_TOTP
        await enable_mfa(db, user, secret, app.state.settings.secret_key)
        await db.commit()
    async with web_client(app) as c:
        await c.sign_in(user.email, totp_secret=secret)
        c.user = user
        yield c


@pytest.fixture
async def client(app, db):
    async with persona(app, db, Role.client, "client@example.test") as c:
        yield c


@pytest.fixture
async def contractor(app, db):
    async with persona(app, db, Role.contractor, "contractor@example.test") as c:
        yield c


@pytest.fixture
async def other_contractor(app, db):
    async with persona(app, db, Role.contractor, "other.contractor@example.test") as c:
        yield c


@pytest.fixture
async def admin(app, db):
    async with persona(app, db, Role.admin, "admin@example.test") as c:
        yield c


# ---------------------------------------------------------------- live server, SSE, browser


@pytest.fixture(scope="session")
def live_server(test_env, settings):
    ARTIFACTS.mkdir(exist_ok=True)
    server = LiveServer({**test_env, "RUN_WORKER_IN_PROCESS": "0"}, ARTIFACTS / "live-server.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def live_client(live_server):
    """An HTTP client against the live server (cookies kept, CSRF handled)."""
    async with WebClient(base_url=live_server.url, follow_redirects=False, timeout=15) as c:
        yield c


def _require_browser() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("PACTLINE_REQUIRE_BROWSER"):
            pytest.fail(f"Chromium not found at {CHROMIUM}; `apt-get install -y chromium`")
        pytest.skip("Chromium is not installed (apt-get install -y chromium); .ci/run installs it")


@pytest.fixture(scope="session")
async def browser():
    _require_browser()
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        await chromium.close()


class PageProblems:
    """Console errors and CSP violations seen by a page: tests assert there are none."""

    # Chromium logs every 4xx answer as a console error; tests assert on statuses themselves.
    HTTP_STATUS = "Failed to load resource: the server responded with a status of"

    def __init__(self) -> None:
        self.errors: list[str] = []

    def _console(self, msg) -> None:
        if msg.type == "error" and not msg.text.startswith(self.HTTP_STATUS):
            self.errors.append(msg.text)

    def attach(self, page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))


async def _page(browser, live_server, viewport, request):
    context = await browser.new_context(
        viewport=viewport, base_url=live_server.url, is_mobile=viewport is PHONE, has_touch=viewport is PHONE
    )
    page = await context.new_page()
    page.problems = PageProblems()
    page.problems.attach(page)
    yield page
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    await context.close()


@pytest.fixture
async def small_phone(browser, live_server, request):
    """The narrowest screen we promise to work on (360 px)."""
    async for page in _page(browser, live_server, SMALL_PHONE, request):
        yield page


@pytest.fixture
async def phone(browser, live_server, request):
    async for page in _page(browser, live_server, PHONE, request):
        yield page


@pytest.fixture
async def desktop(browser, live_server, request):
    async for page in _page(browser, live_server, DESKTOP, request):
        yield page


@pytest.fixture(params=["phone", "desktop"])
async def any_viewport(browser, live_server, request):
    """The same test on a phone (390×844) and on a desktop (1280×800)."""
    async for page in _page(browser, live_server, PHONE if request.param == "phone" else DESKTOP, request):
        yield page


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# ---------------------------------------------------------------- fake OpenID provider


@pytest.fixture(scope="session")
def fake_oidc():
    """A local OpenID Connect provider over real HTTP (Google/LinkedIn stand-in)."""
    from tests.support.fake_oidc import FakeOIDC

    provider = FakeOIDC()
    provider.start()
    yield provider
    provider.stop()


# ---------------------------------------------------------------- fake Stripe API


@pytest.fixture(scope="session")
def stripe_server():
    """One local fake of Stripe's API for the run (tests/support/fake_stripe.py)."""
    from tests.support.fake_stripe import FakeStripe

    fake = FakeStripe()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_stripe(stripe_server):
    """The fake Stripe API, emptied for this test; its webhooks go to the app in-process."""
    stripe_server.reset()
    yield stripe_server
    stripe_server.reset()


def stripe_settings(settings, fake):
    """`settings` with PAYMENTS_PROVIDER=stripe against `fake` (its key, its signing secret)."""
    import dataclasses

    return dataclasses.replace(
        settings,
        payments_provider="stripe",
        stripe_secret_key=fake.api_key,
        stripe_webhook_secret=fake.webhook_secret,
        stripe_api_base=fake.url,
    )


@pytest.fixture
def stripe_app(app, fake_stripe):
    """The app with PAYMENTS_PROVIDER=stripe and STRIPE_API_BASE at the fake, for one test; the
    fake's webhooks reach it in-process (httpx.ASGITransport), through its middleware."""
    # The settings object is changed in place (and put back after): the test's job worker holds
    # the same object, so its jobs (send_payout, refund_payment) talk to the fake Stripe too.
    settings = app.state.settings
    wanted = stripe_settings(settings, fake_stripe)
    fields = ("payments_provider", "stripe_secret_key", "stripe_webhook_secret", "stripe_api_base")
    before = {name: getattr(settings, name) for name in fields}
    for name in fields:
        object.__setattr__(settings, name, getattr(wanted, name))
    fake_stripe.webhook_transport = httpx.ASGITransport(app=app)
    yield app
    for name, value in before.items():
        object.__setattr__(settings, name, value)
