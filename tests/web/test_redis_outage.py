"""Redis goes away and comes back: pages answer (visitors normally, signed-in people with a plain
503 that keeps their cookie), /ready says so, and everything recovers without a restart."""

import asyncio
import contextlib
import signal
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import httpx

from app.accounts.sessions import SESSION_COOKIE
from app.asgi import create_app
from app.platform.embedded import EmbeddedRedis
from tests.conftest import WebClient, lifespan_of
from tests.support.factories import make_user

# A down Redis must answer in about a second, never after the 10-30 s of default socket timeouts.
FAST = 3.0


@contextlib.asynccontextmanager
async def app_on_private_redis(settings):
    """The app wired to a Redis of its own that the test can stop, pause and start again."""
    server = EmbeddedRedis(Path(tempfile.mkdtemp(prefix="pl-outage-")))
    url = await asyncio.to_thread(server.start)
    application = create_app(replace(settings, redis_url=url, run_worker_in_process=False))
    try:
        async with lifespan_of(application):
            async with WebClient(
                transport=httpx.ASGITransport(app=application), base_url="http://testserver", follow_redirects=False
            ) as browser:
                yield server, browser
    finally:
        await asyncio.to_thread(server.stop)


def session_cookies_set(response: httpx.Response) -> list[str]:
    return [value for value in response.headers.get_list("set-cookie") if value.startswith(f"{SESSION_COOKIE}=")]


async def timed(call):
    started = time.monotonic()
    response = await call
    return response, time.monotonic() - started


async def test_pages_answer_while_redis_is_down_and_the_session_returns_with_it(settings, db):
    user = await make_user(db)
    async with app_on_private_redis(settings) as (server, browser):
        await browser.sign_in(user.email)
        cookie = browser.cookies.get(SESSION_COOKIE)
        # Several pooled connections, all of which the restart below will break.
        before = await asyncio.gather(*(browser.get("/dashboard") for _ in range(8)))
        assert cookie and {r.status_code for r in before} == {200}

        await asyncio.to_thread(server.stop)

        for path in ("/", "/login"):
            response, took = await timed(browser.get(path))
            assert response.status_code == 200, (path, response.status_code)
            assert took < FAST, (path, took)
            assert not session_cookies_set(response), path

        page, took = await timed(browser.get("/dashboard"))
        assert page.status_code == 503 and took < FAST
        assert "try again in a minute" in page.text
        assert "<html" in page.text.lower() and "Traceback" not in page.text
        assert page.headers["retry-after"] and "no-store" in page.headers["cache-control"]
        assert not session_cookies_set(page), "the session cookie is left alone"
        assert browser.cookies.get(SESSION_COOKIE) == cookie

        fragment = await browser.get("/dashboard", headers={"HX-Request": "true"})
        assert fragment.status_code == 503 and fragment.headers["hx-reswap"] == "none"

        ready = await browser.get("/ready")
        assert ready.status_code == 503 and ready.json()["failing"] == ["redis"]

        # Signing in needs the sign-in limits, which live in Redis: a clear 503, not a 500.
        sign_in, took = await timed(browser.post_form("/login", {"email": user.email, "password": "whatever it is"}))
        assert sign_in.status_code == 503 and took < FAST
        assert "try again in a minute" in sign_in.text
        assert not session_cookies_set(sign_in)

        # Parallel requests during the outage all get an answer, none a 500.
        answers = await asyncio.gather(*(browser.get(p) for p in ("/", "/dashboard", "/settings", "/jobs") * 5))
        assert {r.status_code for r in answers} <= {200, 503}

        await asyncio.to_thread(server.start)

        # Same cookie, same session: broken pooled connections are replaced on their own.
        back = await asyncio.gather(*(browser.get("/dashboard") for _ in range(8)))
        assert [r.status_code for r in back] == [200] * 8
        assert browser.cookies.get(SESSION_COOKIE) == cookie
        assert (await browser.get("/ready")).status_code == 200


async def test_a_hung_redis_answers_fast_instead_of_holding_every_request(settings, db):
    """A Redis that accepts connections but never replies (paused, overloaded, a dead network path)
    costs a request at most the short socket timeout."""
    user = await make_user(db)
    async with app_on_private_redis(settings) as (server, browser):
        await browser.sign_in(user.email)
        server._process.send_signal(signal.SIGSTOP)
        try:
            async with asyncio.timeout(6 * FAST):  # a regression fails here instead of hanging the run
                page, took = await timed(browser.get("/dashboard"))
                assert page.status_code == 503 and took < FAST, took
                landing, took = await timed(browser.get("/"))
                assert landing.status_code == 200 and took < FAST, took
                ready, took = await timed(browser.get("/ready"))
                assert ready.status_code == 503 and took < FAST + 1, took
        finally:
            server._process.send_signal(signal.SIGCONT)
        assert (await browser.get("/dashboard")).status_code == 200


async def test_signing_out_while_redis_is_down_still_makes_the_browser_forget_the_session(settings, db):
    user = await make_user(db)
    async with app_on_private_redis(settings) as (server, browser):
        await browser.sign_in(user.email)
        await asyncio.to_thread(server.stop)
        response = await browser.post_form("/logout")
        assert response.status_code == 303
        (cleared,) = session_cookies_set(response)
        assert cleared.startswith(f"{SESSION_COOKIE}=null;")
        assert browser.cookies.get(SESSION_COOKIE) in (None, "null")
        await asyncio.to_thread(server.start)
        assert (await browser.get("/dashboard")).status_code == 303, "signed out for good"
