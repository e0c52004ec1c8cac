"""Sign-in and sign-out: sessions in Redis, rotated at sign-in, dead after sign-out."""

import re

from app.accounts.models import Role
from app.accounts.sessions import SESSION_COOKIE
from tests.support.factories import PASSWORD, make_user


async def test_sign_in_page_has_labelled_fields_and_a_sign_in_button(anonymous):
    page = await anonymous.get("/login")
    assert page.status_code == 200
    html = page.text
    assert re.search(r'<label[^>]*for="email"[^>]*>Email</label>', html)
    assert re.search(r'<label[^>]*for="password"[^>]*>Password</label>', html)
    assert 'id="email"' in html and 'id="password"' in html
    assert 'name="email"' in html and 'name="password"' in html
    assert "Sign in</button>" in html
    assert 'name="_csrf_token"' in html


async def test_signing_in_goes_to_the_dashboard_and_greets_the_user(anonymous, db):
    user = await make_user(db, role=Role.client, name="Grace Hopper")
    response = await anonymous.post_form("/login", {"email": user.email.upper(), "password": PASSWORD})
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard"
    dashboard = await anonymous.get("/dashboard")
    assert dashboard.status_code == 200
    assert "Grace Hopper" in dashboard.text


async def test_wrong_password_re_renders_the_form_with_a_message_and_422(anonymous, db):
    user = await make_user(db)
    response = await anonymous.post_form("/login", {"email": user.email, "password": "not the password"})
    assert response.status_code == 422
    assert "don&#39;t match an account" in response.text or "don't match an account" in response.text
    assert f'value="{user.email}"' in response.text
    assert SESSION_COOKIE not in response.cookies or (await anonymous.get("/dashboard")).status_code == 303


async def test_empty_fields_get_messages_next_to_them(anonymous):
    response = await anonymous.post_form("/login", {"email": "", "password": ""})
    assert response.status_code == 422
    assert "Enter your e-mail address." in response.text
    assert "Enter your password." in response.text


async def test_the_session_id_is_rotated_at_sign_in(anonymous, db):
    user = await make_user(db)
    await anonymous.get("/login")
    # Plant a session id before signing in (as an attacker fixing a victim's session would).
    anonymous.cookies.set(SESSION_COOKIE, "a" * 64, domain="testserver.local")
    await anonymous.post_form("/login", {"email": user.email, "password": PASSWORD})
    new_id = anonymous.cookies.get(SESSION_COOKIE)
    assert new_id and new_id != "a" * 64


async def test_the_old_cookie_is_dead_after_sign_in(app, anonymous, db):
    user = await make_user(db)
    first = await anonymous.post_form("/login", {"email": user.email, "password": PASSWORD})
    old_id = first.cookies[SESSION_COOKIE]
    await anonymous.post_form("/login", {"email": user.email, "password": PASSWORD}, headers={})
    # Signing in again from the signed-in browser issues a new id and forgets the old one.
    assert anonymous.cookies.get(SESSION_COOKIE) != old_id
    assert (
        await app.state.redis.exists(f"sessions{old_id}") == 0
        and await app.state.redis.exists(f"sessions:{old_id}") == 0
    )


async def test_sign_out_ends_the_session_on_the_server(app, client):
    cookie = client.cookies.get(SESSION_COOKIE)
    assert (await client.get("/dashboard")).status_code == 200
    response = await client.post_form("/logout")
    assert response.status_code == 303 and response.headers["location"] == "/"
    # Replaying the old cookie does not bring the session back.
    client.cookies.set(SESSION_COOKIE, cookie)
    again = await client.get("/dashboard")
    assert again.status_code == 303
    assert again.headers["location"] == "/login?next=/dashboard"


async def test_sign_out_without_the_csrf_token_is_refused(client):
    response = await client.post("/logout")
    assert response.status_code == 403
    assert (await client.get("/dashboard")).status_code == 200


async def test_visitors_are_sent_to_sign_in_and_come_back(anonymous, db):
    user = await make_user(db)
    response = await anonymous.get("/dashboard")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/dashboard"
    signed_in = await anonymous.post_form("/login", {"email": user.email, "password": PASSWORD, "next": "/dashboard"})
    assert signed_in.headers["location"] == "/dashboard"


async def test_next_never_leaves_the_site(anonymous, db):
    user = await make_user(db)
    for hostile in [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "http://[evil",
    ]:
        response = await anonymous.post_form("/login", {"email": user.email, "password": PASSWORD, "next": hostile})
        assert response.headers["location"] == "/dashboard", hostile


async def test_a_suspended_user_is_signed_out_mid_session(client, db):
    from app.accounts.models import User, UserStatus

    user = await db.get(User, client.user.id)
    user.status = UserStatus.suspended
    await db.commit()
    response = await client.get("/dashboard")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


async def test_failed_sign_ins_are_limited_per_address_and_account_then_recover(app, anonymous, db):
    user = await make_user(db)
    bystander = await make_user(db)
    for _ in range(10):
        response = await anonymous.post_form("/login", {"email": user.email, "password": "wrong password!"})
        assert response.status_code == 422
    blocked = await anonymous.post_form("/login", {"email": user.email, "password": PASSWORD})
    assert blocked.status_code == 429
    assert "try again in 15 minutes" in blocked.text
    assert 0 < int(blocked.headers["retry-after"]) <= 900

    # Someone else signing in from the same address is not blocked by those failures.
    other = await anonymous.post_form("/login", {"email": bystander.email, "password": PASSWORD})
    assert other.status_code == 303

    # When the window ends (here: its counter expires), the account can sign in again.
    for key in await app.state.redis.keys("ratelimit:signin-pair:*"):
        await app.state.redis.delete(key)
    anonymous.cookies.clear()
    anonymous._csrf = None
    recovered = await anonymous.post_form("/login", {"email": user.email, "password": PASSWORD})
    assert recovered.status_code == 303


async def test_an_idle_session_ends_after_two_hours(app, client):
    import json as _json
    import time

    sid = client.cookies.get(SESSION_COOKIE)
    key = f"sessions:{sid}"
    data = _json.loads(await app.state.redis.get(key))
    data["seen_at"] = int(time.time()) - 2 * 3600 - 5
    await app.state.redis.set(key, _json.dumps(data), keepttl=True)
    response = await client.get("/dashboard")
    assert response.status_code == 303


async def test_remember_me_keeps_the_session_for_30_days_instead_of_14(app, anonymous, db):
    user = await make_user(db)
    await anonymous.post_form("/login", {"email": user.email, "password": PASSWORD})
    short_ttl = await app.state.redis.ttl(f"sessions:{anonymous.cookies.get(SESSION_COOKIE)}")
    await anonymous.post_form("/login", {"email": user.email, "password": PASSWORD, "remember": "on"})
    long_ttl = await app.state.redis.ttl(f"sessions:{anonymous.cookies.get(SESSION_COOKIE)}")
    assert 13 * 86400 < short_ttl <= 14 * 86400
    assert 29 * 86400 < long_ttl <= 30 * 86400


async def test_sign_ins_are_account_events_and_failures_a_bounded_hashed_record(client, db):
    import hashlib

    from sqlalchemy import select

    from app.accounts.models import AccountEvent, FailedSignIn

    await client.post_form("/login", {"email": client.user.email, "password": "definitely wrong"})
    kinds = (
        await db.scalars(
            select(AccountEvent.kind).where(AccountEvent.user_id == client.user.id).order_by(AccountEvent.id)
        )
    ).all()
    assert kinds == ["signed_in"]
    failure = (await db.scalars(select(FailedSignIn))).one()
    assert failure.user_id == client.user.id and failure.step == "password"
    assert failure.email_hash == hashlib.sha256(client.user.email.encode()).hexdigest()


async def test_a_next_or_referer_that_is_not_even_a_url_is_ignored(anonymous, client):
    """ "http://[x" makes urlsplit raise: the pages fall back to their usual targets."""
    assert (await anonymous.get("/login?next=http://[evil")).status_code == 200
    assert (await client.get("/login?next=http://[evil")).headers["location"] == "/dashboard"
    # A sensitive form sent without a fresh confirmation comes back to the Referer's page, if it has one.
    response = await client.post_form(
        "/settings/email", {"email": "new@example.test"}, headers={"Referer": "http://[x"}
    )
    assert response.status_code == 303 and response.headers["location"].startswith("/settings/confirm")
