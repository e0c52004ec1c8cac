"""Hostile input on the account-security forms and links: NUL bytes, non-ASCII, 1 MB fields,
broken percent-encoding and double submits get a 4xx (or the normal answer), never a 5xx."""

import asyncio

import pytest
from sqlalchemy import func, select

from app.accounts.models import OneTimeToken, User
from tests.accounts.helpers import link_in
from tests.support.factories import PASSWORD

MEGABYTE = "x" * 1_000_000
VALUES = [
    "\x00",
    "ab\x00cd",
    "a\x00b@example.test",
    "é漢字🙂",
    "ünïcødé@exämple.test",
    "١٢٣٤٥٦",
    MEGABYTE,
    "a@" + MEGABYTE + ".test",
    "%00",
    "<script>alert(1)</script>",
]
IDS = [
    "nul",
    "nul-inside",
    "nul-email",
    "non-ascii",
    "non-ascii-email",
    "arabic-digits",
    "1mb",
    "1mb-email",
    "percent-nul",
    "markup",
]

NEW_PASSWORD = "marmalade velvet comet 77"
# (persona, path, valid values): each field is replaced in turn by the hostile value.
FORMS = [
    ("anonymous", "/reset", {"email": "client@example.test"}),
    ("anonymous", "/login", {"email": "client@example.test", "password": PASSWORD, "next": "/dashboard"}),
    (
        "anonymous",
        "/signup",
        {"name": "Nia", "email": "nia@example.test", "password": NEW_PASSWORD, "role": "client", "next": "/jobs"},
    ),
    ("client", "/settings/confirm", {"password": PASSWORD, "next": "/settings"}),
    ("client", "/settings/email", {"email": "elsewhere@example.test"}),
    ("client", "/settings/mfa", {"code": "123456", "next": "/settings"}),
    ("admin", "/settings/confirm", {"code": "123456", "next": "/settings"}),
    ("admin", "/admin/admins", {"name": "Third Admin", "email": "third@example.test"}),
    (
        "client",
        "/company/invitations",
        {"kind": "contractor", "email": "someone@example.test", "message": "Hello", "job_id": ""},
    ),
]


async def forget_limits(app) -> None:
    """Hostile values are counted like any attempt; start each round with fresh counters."""
    async for key in app.state.redis.scan_iter("ratelimit:*"):
        await app.state.redis.delete(key)


@pytest.fixture
async def personas(anonymous, client, admin):
    from tests.companies.test_create_company import ACME

    await client.post_form("/company", ACME)
    return {"anonymous": anonymous, "client": client, "admin": admin}


@pytest.mark.parametrize("value", VALUES, ids=IDS)
async def test_touched_forms_answer_hostile_values_without_a_server_error(app, personas, value):
    for persona, path, valid in FORMS:
        c = personas[persona]
        for field in valid:
            await forget_limits(app)
            await personas["client"].post_form("/settings/confirm", {"password": PASSWORD, "next": "/settings"})
            await personas["client"].get("/settings/mfa")  # a setup secret, so the code is really checked
            response = await c.post_form(path, {**valid, field: value})
            assert response.status_code < 500, f"{persona} {path} {field}: {response.status_code}"


async def test_the_mfa_challenge_and_suspension_answer_hostile_values(app, admin, client, db):
    from app.accounts.mfa import enable
    from tests.conftest import web_client

    user = await db.scalar(select(User).where(User.id == client.user.id))
    await enable(db, user, "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU", app.state.settings.secret_key)
    await db.commit()
    for value in VALUES:
        await forget_limits(app)
        async with web_client(app) as c:
            await c.post_form("/login", {"email": user.email, "password": PASSWORD})
            for field in ("code", "recovery_code", "next"):
                response = await c.post_form("/login/mfa", {"code": "123456", field: value})
                assert response.status_code < 500, (field, response.status_code)
        response = await admin.post_form(f"/admin/users/{client.user.id}/suspend", {"reason": value})
        assert response.status_code < 500, ("suspend", response.status_code)
        await admin.post_form(f"/admin/users/{client.user.id}/reactivate")


@pytest.mark.parametrize(
    "token",
    ["%00", "a%00b", "%C3%A9%E6%BC%A2", "%ED%A0%80", "%FF%FE", "x" * 5000, "..%2F..%2Fetc", "%2F"],
    ids=["nul", "nul-inside", "non-ascii", "surrogate", "invalid-utf8", "long", "dots", "slash"],
)
async def test_secret_link_pages_answer_hostile_tokens_without_a_server_error(anonymous, client, token):
    for c, method, path in [
        (anonymous, "GET", f"/reset/{token}"),
        (anonymous, "POST", f"/reset/{token}"),
        (anonymous, "GET", f"/verify-email/{token}"),
        (anonymous, "GET", f"/invitations/{token}"),
        (anonymous, "POST", f"/invitations/{token}/ask-again"),
        (client, "POST", f"/invitations/{token}/accept"),
        (client, "GET", f"/settings/email/confirm/{token}"),
    ]:
        if method == "GET":
            response = await c.get(path)
        else:
            response = await c.post_form(path, {"password": "marmalade velvet comet 77"})
        assert response.status_code < 500, f"{method} {path[:60]}: {response.status_code}"


async def test_a_reset_link_submitted_twice_at_once_changes_the_password_once(anonymous, client, db, smtp_server):
    await anonymous.post_form("/reset", {"email": client.user.email})
    link = link_in((await smtp_server.wait_for(1))[0], "/reset/")
    answers = await asyncio.gather(
        anonymous.post_form(link, {"password": "marmalade velvet comet 77"}),
        anonymous.post_form(link, {"password": "another fine password 9"}),
    )
    assert sorted(r.status_code for r in answers) == [303, 400]
    assert await db.scalar(select(func.count()).select_from(OneTimeToken).where(OneTimeToken.used_at.is_(None))) == 0


async def test_an_email_change_confirmed_twice_at_once_changes_it_once(client, db, smtp_server):
    await client.post_form("/settings/confirm", {"password": PASSWORD, "next": "/settings"})
    await client.post_form("/settings/email", {"email": "twice@example.test"})
    link = link_in((await smtp_server.wait_for(1))[0], "/settings/email/confirm/")
    answers = await asyncio.gather(client.get(link), client.get(link))
    assert sorted(r.status_code for r in answers) == [303, 400]
    # The old address is told once.
    await smtp_server.wait_for(2)
    await asyncio.sleep(0.5)
    assert [m["Subject"] for m in smtp_server.messages].count("Your Pactline e-mail address was changed") == 1


async def test_two_admins_suspending_at_once_suspend_and_email_once(app, admin, client, db, smtp_server):
    from app.accounts.models import Role
    from tests.conftest import persona

    async with persona(app, db, Role.admin, "second.admin@example.test") as second:
        path = f"/admin/users/{client.user.id}/suspend"
        answers = await asyncio.gather(admin.post_form(path, {"reason": "a"}), second.post_form(path, {"reason": "b"}))
        assert sorted(r.status_code for r in answers)[0] == 303
        assert all(r.status_code < 500 for r in answers)
    await smtp_server.wait_for(1)
    await asyncio.sleep(0.5)
    assert [m["To"] for m in smtp_server.messages] == [client.user.email]


async def test_an_admin_created_twice_at_once_is_created_once(admin, db, smtp_server):
    form = {"name": "Twin Admin", "email": "twin@example.test"}
    answers = await asyncio.gather(admin.post_form("/admin/admins", form), admin.post_form("/admin/admins", form))
    assert sorted(r.status_code for r in answers) == [303, 422]
    assert await db.scalar(select(func.count()).select_from(User).where(User.email == "twin@example.test")) == 1
    await smtp_server.wait_for(1)
    await asyncio.sleep(0.5)
    assert [m["To"] for m in smtp_server.messages] == ["twin@example.test"]


async def test_two_step_turned_on_twice_at_once_is_turned_on_once(client, db, smtp_server):
    import re

    from app.accounts.mfa import totp

    await client.post_form("/settings/confirm", {"password": PASSWORD, "next": "/settings"})
    page = await client.get("/settings/mfa")
    secret = re.search(r'data-secret="([A-Z2-7]+)"', page.text).group(1)
    code = totp(secret).now()
    answers = await asyncio.gather(
        client.post_form("/settings/mfa", {"code": code}), client.post_form("/settings/mfa", {"code": code})
    )
    assert sorted(r.status_code for r in answers) == [200, 303]
    await smtp_server.wait_for(1)
    await asyncio.sleep(0.5)
    assert [m["Subject"] for m in smtp_server.messages] == ["Two-step sign-in is on for your Pactline account"]


async def test_signing_up_twice_at_once_makes_one_account(anonymous, app, db):
    from tests.conftest import web_client

    form = {"name": "Dana Double", "email": "double@example.test", "password": NEW_PASSWORD, "role": "client"}
    async with web_client(app) as other:
        answers = await asyncio.gather(anonymous.post_form("/signup", form), other.post_form("/signup", form))
    assert sorted(r.status_code for r in answers) == [303, 422]
    assert await db.scalar(select(func.count()).select_from(User).where(User.email == "double@example.test")) == 1
