"""Turning on two-step sign-in needs a recent confirmation; the owner hears about two-step
changes and e-mail changes (the old address is told)."""

from sqlalchemy import select

from app.accounts.mfa import totp
from app.accounts.models import User
from tests.accounts.helpers import age_session, link_in, next_code, text_part
from tests.accounts.test_mfa import enrol
from tests.support.factories import PASSWORD


async def test_turning_two_step_on_asks_to_confirm_first(app, client, db, smtp_server):
    await age_session(app, client)
    page = await client.get("/settings/mfa")
    assert page.status_code == 303 and page.headers["location"] == "/settings/confirm?next=/settings/mfa"

    # Posting a code straight away (a stolen session with the attacker's own authenticator) is refused too.
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    forced = await client.post_form(
        "/settings/mfa", {"code": totp(secret).now()}, headers={"Referer": "http://testserver/settings/mfa"}
    )
    assert forced.status_code == 303 and forced.headers["location"] == "/settings/confirm?next=/settings/mfa"
    user = await db.scalar(select(User).where(User.id == client.user.id))
    assert user.mfa_enabled_at is None
    assert smtp_server.messages == []


async def test_the_owner_is_told_when_two_step_sign_in_goes_on_and_off(app, client, db, smtp_server):
    secret, _ = await enrol(client)
    (on,) = await smtp_server.wait_for(1)
    assert on["To"] == client.user.email
    assert on["Subject"] == "Two-step sign-in is on for your Pactline account"
    assert "If you did not turn it on" in text_part(on)

    smtp_server.messages.clear()
    await age_session(app, client)
    await client.post_form("/settings/confirm", {"code": next_code(secret), "next": "/settings"})
    off = await client.post_form("/settings/mfa/disable")
    assert off.status_code == 303
    (message,) = await smtp_server.wait_for(1)
    assert message["Subject"] == "Two-step sign-in was turned off for your Pactline account"


async def test_an_email_change_tells_the_old_address(client, db, smtp_server):
    old = client.user.email
    await client.post_form("/settings/confirm", {"password": PASSWORD, "next": "/settings"})
    await client.post_form("/settings/email", {"email": "new.address@example.test"})
    (confirmation,) = await smtp_server.wait_for(1)
    assert confirmation["To"] == "new.address@example.test"
    smtp_server.messages.clear()

    assert (await client.get(link_in(confirmation, "/settings/email/confirm/"))).status_code == 303
    (notice,) = await smtp_server.wait_for(1)
    assert notice["To"] == old
    assert notice["Subject"] == "Your Pactline e-mail address was changed"
    assert "changed to new.address@example.test" in text_part(notice)
