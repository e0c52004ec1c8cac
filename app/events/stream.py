"""One user's live stream: replay after Last-Event-ID, then live messages, with heartbeats."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from typing import Protocol

from litestar.channels import ChannelsPlugin
from litestar.response import ServerSentEventMessage
from prometheus_client import Gauge
from redis.asyncio import Redis

from app.events.dispatch import backlog_key, user_channel

SSE_OPEN = Gauge("pactline_sse_connections_open", "Server-sent event streams currently open in this process")


class Liveness(Protocol):
    """Told when a stream is up (at its start and at every heartbeat) and when it has ended:
    the presence of its person (app/conversations/presence.py) is made of these."""

    async def alive(self) -> None: ...

    def gone(self) -> None: ...


def parse_last_event_id(value: str | None) -> int:
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0


async def missed_events(redis: Redis, user_id: int, after: int, max_age_seconds: int) -> list[dict]:
    raw = await redis.zrangebyscore(backlog_key(user_id), f"({after}", "+inf")
    oldest = time.time() - max_age_seconds
    messages = [json.loads(item) for item in raw]
    return [m for m in messages if m.get("ts", 0) >= oldest]


def comment(text: str, **fields) -> ServerSentEventMessage:
    """A comment line only: Litestar adds an empty `data:` line by default, which browsers
    dispatch as an empty "message" event."""
    return ServerSentEventMessage(comment=text, data=None, **fields)


def to_sse(message: dict) -> ServerSentEventMessage:
    """A lasting event (from the user's own channel or backlog) carries its id; a short-lived one
    (typing, presence: published without an id, never kept) carries none, so it never moves the
    browser's Last-Event-ID and is never replayed."""
    if "id" not in message:
        return ServerSentEventMessage(data=message["data"], event=message["event"])
    return ServerSentEventMessage(data=message["data"], event=message["event"], id=str(message["id"]))


async def user_stream(
    channels: ChannelsPlugin,
    redis: Redis,
    user_id: int,
    last_event_id: int,
    *,
    heartbeat: float,
    backlog_seconds: int,
    still_allowed: Callable[[], Awaitable[bool]] | None = None,
    short_lived: Sequence[str] = (),
    liveness: Liveness | None = None,
) -> AsyncGenerator[ServerSentEventMessage, None]:
    """`still_allowed` is asked once per heartbeat interval, busy stream or idle; when it says no
    (the browser was signed out, its password changed, the person suspended) the stream ends.
    `short_lived` names extra channels whose messages have no id and no backlog (a conversation's
    typing and the other party's presence); the caller has checked the person may hear them."""
    SSE_OPEN.inc()
    try:
        async with channels.start_subscription([user_channel(user_id), *short_lived]) as subscriber:
            # One reader of the subscriber's own queue, carried across waits: no extra task and
            # no second queue per connection (a pending read is only made when the last one ended).
            events = subscriber.iter_events()
            pending: asyncio.Future[bytes] | None = None
            try:
                yield comment("connected", retry=3000)
                if liveness is not None:
                    await liveness.alive()
                sent_up_to = last_event_id
                # Subscribed first, replay second: anything published meanwhile is queued,
                # and the id floor below drops what the replay already sent.
                if last_event_id:
                    for message in await missed_events(redis, user_id, last_event_id, backlog_seconds):
                        if message["id"] > sent_up_to:
                            sent_up_to = message["id"]
                            yield to_sse(message)
                loop = asyncio.get_running_loop()
                # The first beat lands anywhere in the second half of an interval: streams opened
                # together (a deploy reconnects everyone at once) do not re-check their sessions
                # and refresh presence in one burst every interval ever after.
                due = loop.time() + heartbeat * random.uniform(0.5, 1.0)  # noqa: S311 — spreading load, not a secret
                while True:
                    if pending is None:
                        pending = asyncio.ensure_future(anext(events))
                    done, _ = await asyncio.wait((pending,), timeout=max(0.0, due - loop.time()))
                    raw = None
                    if done:
                        finished, pending = pending, None
                        try:
                            raw = finished.result()
                        except StopAsyncIteration:
                            return  # the channels plugin is shutting down
                    if loop.time() >= due:
                        if still_allowed is not None and not await still_allowed():
                            yield comment("signed out")
                            return
                        if liveness is not None:
                            await liveness.alive()
                        due = loop.time() + heartbeat
                        if raw is None:
                            yield comment("heartbeat")
                    if raw is None:
                        continue
                    message = json.loads(raw)
                    if "id" in message:
                        if message["id"] <= sent_up_to:
                            continue
                        sent_up_to = message["id"]
                    yield to_sse(message)
            finally:
                if pending is not None:
                    pending.cancel()
                    with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                        await pending
                await events.aclose()
                if liveness is not None:
                    liveness.gone()
    finally:
        SSE_OPEN.dec()
