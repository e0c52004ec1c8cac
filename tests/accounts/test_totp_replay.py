"""An authenticator code works once: at sign-in, at "confirm it's you", and after enrolment,
even when two requests race with the same code."""

import asyncio
import time

from sqlalchemy import select

from app.accounts import mfa
from app.accounts.mfa import enable, totp
from app.accounts.models import FailedSignIn, User
from tests.accounts.helpers import next_code
from tests.accounts.test_mfa import enrol
from tests.conftest import web_client
from tests.support.factories import PASSWORD, make_user

SECRET = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"
REUSED = "That code was already used. Wait until your app shows a new code"


async def two_step_user(app, db, email="twostep@example.test") -> User:
    user = await make_user(db, email=email)
    await enable(db, user, SECRET, app.state.settings.secret_key)
    await db.commit()
    return user


async def past_password(app, email: str):
    """A browser that gave the right password and is now asked for the code."""
    c = web_client(app)
    first = await c.post_form("/login", {"email": email, "password": PASSWORD})
    assert first.headers["location"] == "/login/mfa"
    return c


async def test_a_code_signs_in_once(app, db):
    user = await two_step_user(app, db)
    code = totp(SECRET).now()
    first, second = await past_password(app, user.email), await past_password(app, user.email)
    assert (await first.post_form("/login/mfa", {"code": code})).status_code == 303
    assert (await first.get("/dashboard")).status_code == 200

    # Someone who saw the code (over a shoulder, or through a phishing page) tries it again.
    replay = await second.post_form("/login/mfa", {"code": code})
    assert replay.status_code == 422
    assert REUSED in replay.text.replace("&#39;", "'")
    assert (await second.get("/dashboard")).status_code == 303, "not signed in"
    failure = await db.scalar(select(FailedSignIn).where(FailedSignIn.user_id == user.id))
    assert failure.step == "totp_reused"

    # The next code of the app works.
    assert (await second.post_form("/login/mfa", {"code": next_code(SECRET)})).status_code == 303
    await first.aclose()
    await second.aclose()


async def test_an_older_code_is_refused_after_a_newer_one(app, db):
    user = await two_step_user(app, db)
    first, second = await past_password(app, user.email), await past_password(app, user.email)
    assert (await first.post_form("/login/mfa", {"code": next_code(SECRET)})).status_code == 303
    # The current code is still inside its drift window, but a later step was already accepted.
    older = await second.post_form("/login/mfa", {"code": totp(SECRET).now()})
    assert older.status_code == 422 and REUSED in older.text.replace("&#39;", "'")
    await first.aclose()
    await second.aclose()


async def test_the_code_that_signed_in_cannot_confirm_a_sensitive_change(app, db):
    user = await two_step_user(app, db)
    code = totp(SECRET).now()
    c = await past_password(app, user.email)
    assert (await c.post_form("/login/mfa", {"code": code})).status_code == 303
    replay = await c.post_form("/settings/confirm", {"code": code, "next": "/settings"})
    assert replay.status_code == 422 and REUSED in replay.text.replace("&#39;", "'")
    fresh = await c.post_form("/settings/confirm", {"code": next_code(SECRET), "next": "/settings"})
    assert fresh.status_code == 303 and fresh.headers["location"] == "/settings"
    # And that one is spent too.
    again = await c.post_form("/settings/confirm", {"code": next_code(SECRET), "next": "/settings"})
    assert again.status_code == 422
    await c.aclose()


async def test_the_code_that_turned_two_step_on_cannot_sign_in(app, client, db):
    secret, _ = await enrol(client)
    enrolment_code = totp(secret).now()
    c = await past_password(app, client.user.email)
    replay = await c.post_form("/login/mfa", {"code": enrolment_code})
    assert replay.status_code == 422 and REUSED in replay.text.replace("&#39;", "'")
    await c.aclose()


async def test_two_parallel_sign_ins_with_one_code_let_exactly_one_in(app, db):
    # Several people at once, each with two browsers racing with the same code.
    users = [await two_step_user(app, db, email=f"race{n}@example.test") for n in range(4)]
    browsers = [[await past_password(app, u.email), await past_password(app, u.email)] for u in users]
    code = totp(SECRET).now()
    answers = await asyncio.gather(*(c.post_form("/login/mfa", {"code": code}) for pair in browsers for c in pair))
    for n in range(len(users)):
        pair = sorted(r.status_code for r in answers[2 * n : 2 * n + 2])
        assert pair == [303, 422], f"user {n}: {pair}"
    signed_in = [(await c.get("/dashboard")).status_code for pair in browsers for c in pair]
    assert signed_in.count(200) == len(users)
    for pair in browsers:
        for c in pair:
            await c.aclose()


async def test_the_compare_and_set_makes_the_second_of_two_racing_requests_wait_and_fail(app, db):
    """Deterministic version of the race: the first request has spent the step but not committed
    yet; the second blocks on the row and, once the first commits, finds the step taken."""
    user = await two_step_user(app, db)
    code = totp(SECRET).now()
    async with app.state.sessionmaker() as first, app.state.sessionmaker() as second:
        assert await mfa.accept_code(first, user, SECRET, code) is mfa.CodeCheck.accepted
        racing = asyncio.create_task(mfa.accept_code(second, user, SECRET, code))
        await asyncio.sleep(0.3)
        assert not racing.done(), "the second request must wait for the first's row lock"
        await first.commit()
        assert await asyncio.wait_for(racing, 5) is mfa.CodeCheck.reused
        await second.rollback()
    stored = await db.scalar(select(User.totp_last_step).where(User.id == user.id))
    assert stored == int(time.time() // 30) or stored == int(time.time() // 30) - 1


def test_a_code_names_its_time_step_within_one_step_of_drift():
    now = time.time()
    generator = totp(SECRET)
    current = int(now // 30)
    assert mfa.matching_step(SECRET, generator.at(now), now=now) == current
    assert mfa.matching_step(SECRET, generator.at(now - 30), now=now) == current - 1
    assert mfa.matching_step(SECRET, generator.at(now + 30), now=now) == current + 1
    assert mfa.matching_step(SECRET, generator.at(now - 90), now=now) is None
    for junk in ("", "12345", "1234567", "\x00\x00\x00\x00\x00\x00", "١٢٣٤٥٦", "x" * 100_000):
        assert mfa.matching_step(SECRET, junk, now=now) is None
