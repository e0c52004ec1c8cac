"""GET /events against a real server: auth, ids, heartbeats, replay, cleanup."""

import asyncio
import json

import httpx

from app.accounts.models import Role
from app.events import publish
from app.events.dispatch import user_channel
from tests.support.factories import PASSWORD, make_user
from tests.support.sse import SSEStream


async def signed_in(live_client, db, role=Role.client):
    user = await make_user(db, role=role)
    await live_client.sign_in(user.email, PASSWORD)
    return user


async def open_stream(live_client, headers=None):
    request = live_client.build_request("GET", "/events", headers={"Accept": "text/event-stream", **(headers or {})})
    response = await live_client.send(request, stream=True)
    return response, SSEStream(response)


async def emit(db, user_id, event, data):
    publish(db, user_id, event, data)
    await db.commit()


async def subscribers(app, user_id) -> int:
    return dict(await app.state.redis.pubsub_numsub(user_channel(user_id)))[user_channel(user_id).encode()]


async def test_visitors_cannot_open_a_stream(live_client):
    response = await live_client.get("/events")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/events")


async def test_events_arrive_live_with_ids_and_heartbeats(live_client, db, app):
    user = await signed_in(live_client, db)
    response, stream = await open_stream(live_client)
    try:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        await stream.next(skip_comments=False)  # the "connected" comment
        await emit(db, user.id, "notice", {"milestone": "funded"})
        message = await stream.next()
        assert (message.event, message.data, message.id) == ("notice", '{"milestone":"funded"}', "1")

        await emit(db, user.id, "toast", {"message": "Hello", "level": "info"})
        message = await stream.next()
        assert message.id == "2" and json.loads(message.data) == {"message": "Hello", "level": "info"}

        # The test server beats every second (production: 15 s).
        await asyncio.sleep(1.5)
        await emit(db, user.id, "notice", {"n": "later"})
        await stream.next()
        assert "heartbeat" in stream.comments
    finally:
        await response.aclose()


async def test_another_users_events_never_reach_this_stream(live_client, db):
    user = await signed_in(live_client, db)
    stranger = await make_user(db, role=Role.contractor)
    response, stream = await open_stream(live_client)
    try:
        await stream.next(skip_comments=False)
        await emit(db, stranger.id, "notice", {"for": "someone else"})
        await emit(db, user.id, "notice", {"for": "me"})
        assert (await stream.next()).data == '{"for":"me"}'
    finally:
        await response.aclose()


async def test_reconnecting_with_last_event_id_replays_what_was_missed(live_client, db):
    user = await signed_in(live_client, db)
    response, stream = await open_stream(live_client)
    await stream.next(skip_comments=False)
    await emit(db, user.id, "notice", {"n": "one"})
    first = await stream.next()
    await response.aclose()

    # While the tab is away, two more events happen.
    await emit(db, user.id, "notice", {"n": "two"})
    await emit(db, user.id, "notice", {"n": "three"})
    await asyncio.sleep(0.3)

    response, stream = await open_stream(live_client, {"Last-Event-ID": first.id})
    try:
        await stream.next(skip_comments=False)
        replayed = [await stream.next(), await stream.next()]
        assert [(m.id, m.data) for m in replayed] == [("2", '{"n":"two"}'), ("3", '{"n":"three"}')]
        await emit(db, user.id, "notice", {"n": "four"})
        live = await stream.next()
        assert (live.id, live.data) == ("4", '{"n":"four"}'), "no id is sent twice and none is skipped"
    finally:
        await response.aclose()


async def test_subscription_is_released_when_the_client_disconnects(live_client, db, app):
    user = await signed_in(live_client, db)
    response, stream = await open_stream(live_client)
    await stream.next(skip_comments=False)
    assert await subscribers(app, user.id) == 1
    metrics = (await httpx.AsyncClient(base_url=str(live_client.base_url)).get("/metrics")).text
    assert "pactline_sse_connections_open 1.0" in metrics

    await response.aclose()
    for _ in range(50):
        if await subscribers(app, user.id) == 0:
            break
        await asyncio.sleep(0.1)
    assert await subscribers(app, user.id) == 0
    metrics = (await httpx.AsyncClient(base_url=str(live_client.base_url)).get("/metrics")).text
    assert "pactline_sse_connections_open 0.0" in metrics
