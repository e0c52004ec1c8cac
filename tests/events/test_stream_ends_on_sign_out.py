"""An open /events stream ends once its browser is no longer signed in: sign-out, this device
signed out from another one, "sign out all other devices", a password change or reset, and a
suspension. (The test server re-checks every heartbeat, 1 s; production every 15 s.)"""

import asyncio

from app.accounts import services
from app.accounts.models import Role
from app.accounts.tokens import token_of
from app.events import publish
from tests.accounts.helpers import device_handles
from tests.conftest import WebClient, web_client
from tests.support.factories import PASSWORD, make_user
from tests.support.sse import SSEStream

WITHIN = 6.0  # seconds: a few heartbeats, with room for a loaded machine


async def open_stream(browser):
    request = browser.build_request("GET", "/events", headers={"Accept": "text/event-stream"})
    response = await browser.send(request, stream=True)
    assert response.status_code == 200
    stream = SSEStream(response)
    await stream.next(skip_comments=False)  # "connected"
    return response, stream


async def ends(stream: SSEStream) -> None:
    async with asyncio.timeout(WITHIN):
        try:
            while True:
                await stream.next(timeout=WITHIN, skip_comments=False)
        except EOFError:
            pass
    assert "signed out" in stream.comments


async def still_open(stream: SSEStream, db, user_id: int) -> None:
    """Outlives a few checks and still delivers."""
    await asyncio.sleep(2.5)
    publish(db, user_id, "notice", {"still": "here"})
    await db.commit()
    async with asyncio.timeout(WITHIN):
        message = await stream.next()
    assert message.data == '{"still":"here"}', (message, stream.comments)
    assert "signed out" not in stream.comments


async def signed_in_user(db, live_client, role=Role.client):
    user = await make_user(db, role=role)
    await live_client.sign_in(user.email)
    return user


def live_browser(live_server) -> WebClient:
    return WebClient(base_url=live_server.url, follow_redirects=False, timeout=15)


async def test_signing_out_ends_the_stream_even_while_events_keep_coming(live_client, db):
    user = await signed_in_user(db, live_client)
    response, stream = await open_stream(live_client)
    try:
        assert (await live_client.post_form("/logout")).status_code == 303

        quiet = asyncio.Event()

        async def chatter():
            for n in range(40):
                if quiet.is_set():
                    return
                publish(db, user.id, "notice", {"n": n})
                await db.commit()
                await asyncio.sleep(0.2)

        talking = asyncio.create_task(chatter())
        try:
            await ends(stream)
        finally:
            # Stopped between commits, never cancelled inside one: a commit cut off half-way left
            # the session to be closed mid-commit by the fixture, and its connection in a state
            # that held up the live delivery of the tests after it (seen once in CI).
            quiet.set()
            await talking
    finally:
        await response.aclose()


async def test_signing_out_this_device_from_another_ends_only_its_stream(live_client, live_server, db):
    user = await signed_in_user(db, live_client)
    async with live_browser(live_server) as laptop:
        await laptop.sign_in(user.email)
        phone_response, phone_stream = await open_stream(live_client)
        laptop_response, laptop_stream = await open_stream(laptop)
        try:
            handles = device_handles((await laptop.get("/settings")).text)
            (phone,) = (handle for handle, current in handles.items() if not current)
            assert (await laptop.post_form("/settings/sessions/revoke", {"device": phone})).status_code == 303

            await ends(phone_stream)
            await still_open(laptop_stream, db, user.id)
        finally:
            await phone_response.aclose()
            await laptop_response.aclose()


async def test_signing_out_all_other_devices_ends_their_streams(live_client, live_server, db):
    user = await signed_in_user(db, live_client)
    async with live_browser(live_server) as laptop:
        await laptop.sign_in(user.email)
        phone_response, phone_stream = await open_stream(live_client)
        laptop_response, laptop_stream = await open_stream(laptop)
        try:
            assert (await laptop.post_form("/settings/sessions/sign-out-others")).status_code == 303
            await ends(phone_stream)
            await still_open(laptop_stream, db, user.id)
        finally:
            await phone_response.aclose()
            await laptop_response.aclose()


async def test_a_password_change_ends_the_other_devices_streams(live_client, app, db):
    user = await signed_in_user(db, live_client)
    response, stream = await open_stream(live_client)
    try:
        async with web_client(app) as laptop:
            await laptop.sign_in(user.email)
            await laptop.post_form("/settings/confirm", {"password": PASSWORD, "next": "/settings"})
            changed = await laptop.post_form(
                "/settings/password", {"current_password": PASSWORD, "new_password": "cobalt meadow ferry 19"}
            )
            assert changed.status_code == 303
        await ends(stream)
    finally:
        await response.aclose()


async def test_a_password_reset_ends_every_stream(live_client, anonymous, db, settings):
    user = await signed_in_user(db, live_client)
    response, stream = await open_stream(live_client)
    try:
        _, row = await services.start_password_reset(db, settings.secret_key, user.email)
        await db.commit()
        token = token_of(settings.secret_key, row)
        reset = await anonymous.post_form(f"/reset/{token}", {"password": "cobalt meadow ferry 19"})
        assert reset.status_code == 303
        await ends(stream)
    finally:
        await response.aclose()


async def test_a_suspension_ends_every_stream(live_client, admin, db):
    user = await signed_in_user(db, live_client, role=Role.contractor)
    response, stream = await open_stream(live_client)
    try:
        suspended = await admin.post_form(f"/admin/users/{user.id}/suspend", {"reason": "Fake identity documents"})
        assert suspended.status_code == 303
        await ends(stream)
    finally:
        await response.aclose()
