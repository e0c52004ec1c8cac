"""Settings: name, devices, password change ending other sessions, e-mail change re-verified."""

from sqlalchemy import select

from app.accounts.models import User
from tests.accounts.helpers import device_handles, link_in
from tests.conftest import web_client
from tests.support.factories import PASSWORD


async def confirm(c):
    response = await c.post_form("/settings/confirm", {"password": PASSWORD, "next": "/settings"})
    assert response.status_code == 303


async def test_settings_needs_sign_in(anonymous):
    response = await anonymous.get("/settings")
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/settings"


async def test_name_is_saved(client, db):
    response = await client.post_form("/settings/profile", {"name": "Clara Renamed"})
    assert response.status_code == 303
    # A fresh SELECT, not the session's identity map: the row itself must hold the new name.
    assert await db.scalar(select(User.name).where(User.id == client.user.id)) == "Clara Renamed"
    assert "Clara Renamed" in (await client.get("/settings")).text


async def test_devices_are_listed_and_can_be_signed_out(app, client):
    second = web_client(app)
    await second.sign_in(client.user.email)
    page = await client.get("/settings")
    devices = device_handles(page.text)
    assert len(devices) == 2 and sorted(devices.values()) == [False, True]
    (other,) = (handle for handle, current in devices.items() if not current)
    revoked = await client.post_form("/settings/sessions/revoke", {"device": other})
    assert revoked.status_code == 303
    assert (await second.get("/dashboard")).status_code == 303, "the other device is signed out"
    assert (await client.get("/dashboard")).status_code == 200
    # A device that is no longer signed in, or a made-up handle, is not found.
    assert (await client.post_form("/settings/sessions/revoke", {"device": other})).status_code == 404
    assert (await client.post_form("/settings/sessions/revoke", {"device": "deadbeef"})).status_code == 404
    await second.aclose()


async def test_a_password_change_ends_all_other_sessions(app, client):
    other = web_client(app)
    await other.sign_in(client.user.email)
    await confirm(client)
    response = await client.post_form(
        "/settings/password", {"current_password": PASSWORD, "new_password": "cobalt meadow ferry 19"}
    )
    assert response.status_code == 303
    assert (await client.get("/dashboard")).status_code == 200, "this browser stays signed in"
    assert (await other.get("/dashboard")).status_code == 303, "the other one does not"
    await other.aclose()


async def test_a_wrong_current_password_is_explained(client):
    await confirm(client)
    response = await client.post_form(
        "/settings/password", {"current_password": "nope nope nope", "new_password": "cobalt meadow ferry 19"}
    )
    assert response.status_code == 422
    assert "That is not your current password." in response.text


async def test_an_email_change_takes_effect_only_after_the_new_address_confirms(client, db, smtp_server):
    await confirm(client)
    response = await client.post_form("/settings/email", {"email": "new.address@example.test"})
    assert response.status_code == 303
    user = await db.scalar(select(User).where(User.id == client.user.id))
    assert user.email == client.user.email
    (message,) = await smtp_server.wait_for(1)
    assert message["To"] == "new.address@example.test"
    confirmed = await client.get(link_in(message, "/settings/email/confirm/"))
    assert confirmed.status_code == 303
    await db.refresh(user)
    assert user.email == "new.address@example.test"
