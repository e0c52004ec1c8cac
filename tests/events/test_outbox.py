"""The transactional outbox: events leave only after commit, none is lost, none doubles."""

import asyncio
import json

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.events import publish
from app.events.dispatch import Dispatcher, backlog_key
from app.events.models import OutboxEvent
from tests.support.factories import make_user
from tests.support.live import live_servers_paused


@pytest.fixture
async def paused_dispatcher(app):
    """Stop the app's own delivery loop, and freeze the browser tests' live servers (their
    dispatchers poll the same database), so a test controls every dispatch."""
    from app.events.services import on_outbox_commit, remove_outbox_commit

    dispatcher = app.state.dispatcher
    remove_outbox_commit(dispatcher.kick)
    await dispatcher.stop()
    with live_servers_paused():
        yield dispatcher
    on_outbox_commit(dispatcher.kick)
    dispatcher.start(idle_seconds=5.0)


async def backlog(app, user_id) -> list[dict]:
    raw = await app.state.redis.zrange(backlog_key(user_id), 0, -1)
    return [json.loads(item) for item in raw]


async def test_a_rolled_back_change_never_produces_an_event(app, db):
    user_id = (await make_user(db, role=Role.client)).id
    publish(db, user_id, "notice", {"never": True})
    await db.rollback()

    assert await db.scalar(select(func.count()).select_from(OutboxEvent)) == 0
    await app.state.dispatcher.drain()
    assert await backlog(app, user_id) == []


async def test_a_committed_event_is_delivered_once_with_an_id(app, db, paused_dispatcher):
    user = await make_user(db, role=Role.client)
    publish(db, user.id, "notice", {"milestone": "funded"})
    publish(db, user.id, "toast", {"message": "Milestone funded", "level": "success"})
    await db.commit()

    await app.state.dispatcher.drain()
    events = await backlog(app, user.id)
    assert [(e["id"], e["event"]) for e in events] == [(1, "notice"), (2, "toast")]
    assert json.loads(events[1]["data"]) == {"message": "Milestone funded", "level": "success"}
    pending = await db.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None)))
    assert pending == 0

    # Draining again finds nothing and delivers nothing twice.
    assert await app.state.dispatcher.drain() == 0
    assert len(await backlog(app, user.id)) == 2


class Crash(Exception):
    pass


class CrashingDispatcher(Dispatcher):
    """Dies after delivering `survive` events of a batch, before marking any row."""

    def __init__(self, *args, survive: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.survive = survive

    async def deliver(self, row):
        if self.survive == 0:
            raise Crash()
        self.survive -= 1
        return await super().deliver(row)


async def test_dispatch_killed_mid_batch_loses_nothing_and_sends_nothing_twice(app, db, paused_dispatcher):
    user = await make_user(db, role=Role.contractor)
    for n in range(10):
        publish(db, user.id, "notice", {"n": n})
    await db.commit()
    channel = f"events:user:{user.id}"
    pubsub = app.state.redis.pubsub()
    await pubsub.subscribe(channel)

    crashing = CrashingDispatcher(app.state.sessionmaker, app.state.redis, survive=4)
    with pytest.raises(Crash):
        await crashing.drain()
    # Four made it to Redis, none was marked delivered in Postgres.
    assert len(await backlog(app, user.id)) == 4
    undelivered = await db.scalar(
        select(func.count()).select_from(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None))
    )
    assert undelivered == 10

    await app.state.dispatcher.drain()

    events = await backlog(app, user.id)
    assert [json.loads(e["data"]) for e in events] == [{"n": n} for n in range(10)]
    assert [e["id"] for e in events] == list(range(1, 11))
    published = []
    for _ in range(30):  # None also stands for a swallowed subscribe confirmation: keep reading a while
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.05)
        if message is not None:
            published.append(json.loads(message["data"])["id"])
    assert published == list(range(1, 11)), f"each stream id goes out exactly once: {published}"
    await pubsub.aclose()


async def test_backlog_is_bounded(app, db, paused_dispatcher):
    user = await make_user(db, role=Role.client)
    small = Dispatcher(app.state.sessionmaker, app.state.redis, backlog_size=5)
    for n in range(8):
        publish(db, user.id, "notice", {"n": n})
    await db.commit()
    await small.drain()
    events = await backlog(app, user.id)
    assert [json.loads(e["data"]) for e in events] == [{"n": n} for n in range(3, 8)]
    assert await app.state.redis.hlen(f"events:outbox:{user.id}") == 5


def test_event_names_are_checked():
    with pytest.raises(ValueError):
        publish(None, 1, "Bad Name!", {"x": 1})


async def test_the_web_process_delivers_right_after_commit(app, db):
    user = await make_user(db, role=Role.client)
    publish(db, user.id, "notice", {"at": "now"})
    await db.commit()  # no explicit drain: the after-commit nudge does it
    for _ in range(100):
        if await backlog(app, user.id):
            break
        await asyncio.sleep(0.05)
    assert [e["data"] for e in await backlog(app, user.id)] == ['{"at":"now"}']


def test_an_event_is_data_never_html():
    """Live events are signals (ADR 0023): a page re-renders its own block, so publish takes
    JSON-able data only; a string (an HTML fragment) is refused before anything is written."""
    with pytest.raises(TypeError):
        publish(None, 1, "notice", '<p class="notice">pushed HTML</p>')
