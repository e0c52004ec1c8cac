"""The other party's presence: "Online" while a stream of theirs is open in any web process,
"Last seen …" after, from state in Redis; announced once per change on a narrow channel."""

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta

from app.conversations import presence
from app.conversations.presence import Connection, Presence, ago, presence_channel, presence_of
from tests.conversations.helpers import contract_conversation
from tests.conversations.live_helpers import Listener, on_live_server, open_stream
from tests.conversations.test_typing import second_app_whose_redis_fails
from tests.support.polling import wait_for


def presence_url(conversation) -> str:
    return f"/messages/{conversation.public_id}/presence"


async def block(browser, conversation) -> str:
    answer = await browser.htmx("GET", presence_url(conversation))
    assert answer.status_code == 200, answer.status_code
    return answer.text


async def settled():
    """Let the streams' close-down work (done in tasks of their own) finish."""
    while presence._background:
        await asyncio.gather(*presence._background)


async def test_online_while_a_stream_is_open_in_another_web_process_then_last_seen(
    app, db, live_server, client, contractor
):
    _, conversation = await contract_conversation(db, client, contractor)
    assert "Online" not in await block(client, conversation)
    assert "Last seen" not in await block(client, conversation), "never seen: nothing to say"

    # The contractor's tab is open on the live server: a different process from the app answering here.
    async with on_live_server(live_server, contractor.user) as tab:
        response, _ = await open_stream(tab)
        try:
            online = await block(client, conversation)
            assert "Online" in online and "Last seen" not in online
        finally:
            await response.aclose()

        async def last_seen():
            text = await block(client, conversation)
            return text if "Last seen" in text else None

        text = await wait_for(last_seen, what="the block saying when they were last seen")
    assert "Online" not in text
    assert "<time datetime=" in text and "just now" in text


async def test_the_block_in_full_and_to_strangers(app, db, client, contractor, other_contractor, admin):
    _, conversation = await contract_conversation(db, client, contractor)
    page = await client.get(presence_url(conversation))
    assert page.status_code == 200
    assert f'hx-get="{presence_url(conversation)}"' in page.text and 'aria-live="polite"' in page.text
    assert "sse:presence" in page.text
    for stranger in (other_contractor, admin):
        assert (await stranger.get(presence_url(conversation))).status_code == 404
    assert (await client.get("/messages/conv_nope/presence")).status_code == 404


async def test_presence_is_shared_through_redis_and_expired_connections_do_not_count(app, db, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    uid = contractor.user.id
    redis = app.state.redis
    # A connection of a process that died without closing it: its entry expired a minute ago.
    now = time.time()
    await redis.zadd(presence.conns_key(uid), {"crashed-process-connection": now - 60})
    await redis.set(presence.seen_key(uid), now - 75)
    assert await presence_of(redis, uid) == Presence(False, datetime.fromtimestamp(now - 75, UTC))
    assert "1 minute ago" in await block(client, conversation)

    # A live one recorded by one process is seen by any other (a second Redis client here).
    other_process = type(redis).from_url(app.state.settings.redis_url)
    try:
        connection = Connection(other_process, uid, heartbeat=15)
        await connection.alive()
        assert (await presence_of(redis, uid)).online
        assert "Online" in await block(client, conversation)
        connection.gone()
        await settled()
        assert not (await presence_of(redis, uid)).online
    finally:
        await other_process.aclose()


async def test_changes_are_announced_once_and_a_page_change_is_not_an_absence(app, monkeypatch):
    monkeypatch.setattr(presence, "OFFLINE_GRACE_SECONDS", 0.2)
    redis = app.state.redis
    async with Listener(redis, presence_channel(7)) as channel:
        first = Connection(redis, 7, heartbeat=15)
        await first.alive()
        await first.alive()  # a heartbeat: no news
        first.gone()
        second = Connection(redis, 7, heartbeat=15)  # the next page's stream, within the grace
        await second.alive()
        await settled()
        second.gone()
        await settled()
        received = await channel.until_marker()
    states = [json.loads(m["data"])["state"] for m in received]
    assert states == ["online", "offline"], states
    assert all(m["event"] == "presence" and "id" not in m for m in received)


async def test_redis_failing_shows_nothing_and_no_error(settings, db, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    async with second_app_whose_redis_fails(settings, client.user) as browser:
        answer = await browser.htmx("GET", presence_url(conversation))
        page = await browser.get(presence_url(conversation))
    assert answer.status_code == 200 and answer.text.strip() == ""
    assert page.status_code == 200 and "Online" not in page.text and "Last seen" not in page.text


def test_last_seen_in_plain_words():
    now = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    assert ago(now - timedelta(seconds=20), now) == "just now"
    assert ago(now - timedelta(minutes=1, seconds=5), now) == "1 minute ago"
    assert ago(now - timedelta(minutes=5), now) == "5 minutes ago"
    assert ago(now - timedelta(hours=3), now) == "3 hours ago"
    assert ago(datetime(2026, 11, 2, 9, 0, tzinfo=UTC), now) == "2 Nov"
    assert ago(datetime(2025, 12, 2, 9, 0, tzinfo=UTC), now) == "2 Dec 2025"
    assert Presence(True, None).words() == "Online"
    assert Presence(False, None).words() == ""
    assert Presence(False, now - timedelta(minutes=5)).words(now) == "Last seen 5 minutes ago"


def test_the_conversation_page_stream_starts_where_the_page_was_rendered():
    from types import SimpleNamespace

    from litestar import Request

    from app.conversations.presence import conversation_events_url

    conversation = SimpleNamespace(public_id="conv_Ab-9_x")
    rendered_at_5 = Request({"type": "http", "state": {"events_since": 5}})
    first_visit = Request({"type": "http", "state": {}})
    assert conversation_events_url(rendered_at_5, conversation) == "/events?last_event_id=5&conversation=conv_Ab-9_x"
    assert conversation_events_url(first_visit, conversation) == "/events?conversation=conv_Ab-9_x"
