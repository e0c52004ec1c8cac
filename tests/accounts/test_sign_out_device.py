"""Signing out one of your devices from /settings: the page names devices by a handle, never by
the session id that is their cookie; a handle only reaches the person's own devices."""

from app.accounts.sessions import SESSION_COOKIE, device_handle
from tests.accounts.helpers import device_handles
from tests.conftest import web_client


async def test_the_devices_page_never_shows_a_session_id(app, client):
    async with web_client(app) as phone:
        await phone.sign_in(client.user.email)
        page = await client.get("/settings")
        assert page.status_code == 200
        for browser in (client, phone):
            sid = browser.cookies.get(SESSION_COOKIE)
            assert sid and sid not in page.text
        handles = device_handles(page.text)
        assert len(handles) == 2
        assert all(len(handle) == 32 for handle in handles)


async def test_a_device_is_signed_out_by_its_handle(app, client):
    async with web_client(app) as phone:
        await phone.sign_in(client.user.email)
        handles = device_handles((await client.get("/settings")).text)
        (other,) = (handle for handle, current in handles.items() if not current)

        response = await client.post_form("/settings/sessions/revoke", {"device": other})
        assert response.status_code == 303 and response.headers["location"] == "/settings"
        assert "That device was signed out." in (await client.get("/settings")).text
        assert (await phone.get("/dashboard")).status_code == 303, "the phone is signed out"
        assert (await client.get("/dashboard")).status_code == 200, "this browser is not"
        assert len(device_handles((await client.get("/settings")).text)) == 1


async def test_another_persons_handle_does_nothing(app, client, contractor):
    theirs = device_handle(app.state.settings.secret_key, contractor.cookies.get(SESSION_COOKIE))
    assert theirs in device_handles((await contractor.get("/settings")).text)

    response = await client.post_form("/settings/sessions/revoke", {"device": theirs})
    assert response.status_code == 404
    assert (await contractor.get("/dashboard")).status_code == 200, "their session survives"
    # Nor does their raw session id, should someone have learnt it.
    response = await client.post_form("/settings/sessions/revoke", {"device": contractor.cookies.get(SESSION_COOKIE)})
    assert response.status_code == 404
    assert (await contractor.get("/dashboard")).status_code == 200


async def test_hostile_handles_get_a_plain_4xx_and_touch_nothing(app, client):
    async with web_client(app) as phone:
        await phone.sign_in(client.user.email)
        keys_before = set(await app.state.redis.keys("*"))
        hostile = [
            "\x00",
            "a\x00b",
            "0" * 31 + "\x00",
            "été" * 10,
            "💣" * 8,
            "x" * 1_000_000,
            "../../admin",
            " ",
            "",
            "A" * 32,
            "0" * 32,
        ]
        for handle in hostile:
            response = await client.post_form("/settings/sessions/revoke", {"device": handle})
            assert 400 <= response.status_code < 500, (handle[:40], response.status_code)
        token = await client.csrf_token()
        for body in (b"device=%FF%FE", b"device=%00&device=%01", b"device", b"%%%", b"device=" + b"%C3" * 1000):
            response = await client.post(
                "/settings/sessions/revoke",
                content=body + b"&_csrf_token=" + token.encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            assert 400 <= response.status_code < 500, (body[:40], response.status_code)
        # The job queue and the live-event backlog belong to the sign-in that just happened.
        written = {
            k for k in set(await app.state.redis.keys("*")) - keys_before if not k.startswith((b"saq:", b"events:"))
        }
        assert not written, f"no keys written for hostile input: {written}"
        assert (await phone.get("/dashboard")).status_code == 200
        assert (await client.get("/dashboard")).status_code == 200


async def test_sign_out_all_other_devices(app, client, contractor):
    async with web_client(app) as phone, web_client(app) as laptop:
        await phone.sign_in(client.user.email)
        await laptop.sign_in(client.user.email)
        assert "Sign out all other devices" in (await client.get("/settings")).text

        response = await client.post_form("/settings/sessions/sign-out-others")
        assert response.status_code == 303
        assert (await phone.get("/dashboard")).status_code == 303
        assert (await laptop.get("/dashboard")).status_code == 303
        assert (await client.get("/dashboard")).status_code == 200
        assert (await contractor.get("/dashboard")).status_code == 200, "nobody else is touched"
        page = (await client.get("/settings")).text
        assert len(device_handles(page)) == 1 and "Sign out all other devices" not in page
