"""Two-step sign-in: enrolment, the sign-in challenge, recovery codes, admins, step-up."""

import re

from sqlalchemy import select

from app.accounts.mfa import totp
from app.accounts.models import AccountEvent, RecoveryCode, User
from tests.accounts.helpers import next_code
from tests.conftest import web_client
from tests.support.factories import PASSWORD


async def enrol(c) -> tuple[str, list[str]]:
    """Turn two-step sign-in on, confirming the password first (it is a step-up action)."""
    page = await c.get("/settings/mfa")
    if page.status_code == 303 and page.headers["location"].startswith("/settings/confirm"):
        confirmed = await c.post_form("/settings/confirm", {"password": PASSWORD, "next": "/settings/mfa"})
        assert confirmed.status_code == 303, confirmed.text[:400]
        page = await c.get("/settings/mfa")
    assert page.status_code == 200
    assert "<svg" in page.text  # the QR code, inline
    secret = re.search(r'data-secret="([A-Z2-7]+)"', page.text).group(1)
    done = await c.post_form("/settings/mfa", {"code": totp(secret).now()})
    assert done.status_code == 200, done.text[:400]
    codes = re.findall(r"<li>([a-z2-9]{5}-[a-z2-9]{5})</li>", done.text)
    assert len(codes) == 10
    return secret, codes


async def test_enrolment_needs_a_correct_code(client, db):
    await client.post_form("/settings/confirm", {"password": PASSWORD, "next": "/settings/mfa"})
    await client.get("/settings/mfa")
    wrong = await client.post_form("/settings/mfa", {"code": "000000"})
    assert wrong.status_code == 422
    assert "That code is not right" in wrong.text
    user = await db.get(User, client.user.id)
    assert user.mfa_enabled_at is None


async def test_after_enrolment_sign_in_asks_for_a_code(app, client, db):
    secret, _ = await enrol(client)
    user = await db.scalar(select(User).where(User.id == client.user.id))
    assert user.totp_secret_encrypted and secret not in user.totp_secret_encrypted  # encrypted at rest

    fresh = web_client(app)
    first = await fresh.post_form("/login", {"email": user.email, "password": PASSWORD})
    assert first.headers["location"] == "/login/mfa"
    assert (await fresh.get("/dashboard")).status_code == 303, "not signed in before the second step"
    bad = await fresh.post_form("/login/mfa", {"code": "123456"})
    assert bad.status_code == 422
    # The enrolment spent the current code: sign-in takes the next one.
    good = await fresh.post_form("/login/mfa", {"code": next_code(secret)})
    assert good.status_code == 303
    assert (await fresh.get("/dashboard")).status_code == 200
    await fresh.aclose()


async def test_a_recovery_code_works_once(app, client, db):
    _, codes = await enrol(client)
    email = client.user.email
    for attempt in range(2):
        browser = web_client(app)
        await browser.post_form("/login", {"email": email, "password": PASSWORD})
        response = await browser.post_form("/login/mfa", {"recovery_code": codes[0].upper()})
        if attempt == 0:
            assert response.status_code == 303
        else:
            assert response.status_code == 422
            assert "already used" in response.text
        await browser.aclose()
    used = await db.scalar(select(RecoveryCode).where(RecoveryCode.used_at.is_not(None)))
    assert used is not None
    assert codes[0] not in used.code_hash


async def test_mfa_attempts_are_rate_limited(app, client, db):
    secret, _ = await enrol(client)
    browser = web_client(app)
    await browser.post_form("/login", {"email": client.user.email, "password": PASSWORD})
    for _ in range(5):
        await browser.post_form("/login/mfa", {"code": "000000"})
    blocked = await browser.post_form("/login/mfa", {"code": totp(secret).now()})
    assert blocked.status_code == 429
    await browser.aclose()


async def test_admin_pages_need_two_step_sign_in(app, db):
    from app.accounts.models import Role
    from tests.support.factories import make_user

    admin = await make_user(db, role=Role.admin)
    browser = web_client(app)
    await browser.sign_in(admin.email)  # password only: no MFA set up yet
    response = await browser.get("/admin")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/settings/mfa?required=1")
    await enrol(browser)
    assert (await browser.get("/admin")).status_code == 200
    kinds = (await db.scalars(select(AccountEvent.kind).where(AccountEvent.user_id == admin.id))).all()
    assert "mfa_enabled" in kinds
    await browser.aclose()


async def test_admins_cannot_turn_two_step_off(admin):
    await admin.post_form("/settings/confirm", {"code": next_code("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")})
    response = await admin.post_form("/settings/mfa/disable")
    assert response.status_code == 303
    assert "Admins must keep two-step sign-in on" in (await admin.get("/settings")).text


async def test_changing_the_password_asks_to_confirm_first(client):
    response = await client.post_form(
        "/settings/password",
        {"current_password": PASSWORD, "new_password": "pumpkin harbour violet 5"},
        headers={"Referer": "http://testserver/settings"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/settings/confirm?next=/settings"
    confirm = await client.post_form("/settings/confirm", {"password": PASSWORD, "next": "/settings"})
    assert confirm.status_code == 303
    changed = await client.post_form(
        "/settings/password", {"current_password": PASSWORD, "new_password": "pumpkin harbour violet 5"}
    )
    assert changed.status_code == 303 and changed.headers["location"] == "/settings"
