"""Streams opened at the same moment (a deploy reconnects everyone at once) each get their
channel: the first subscriptions of a fresh process must not race to open the pub/sub
connection and leave some channels subscribed on a connection nobody reads."""

from __future__ import annotations

import asyncio
import contextlib

from redis.asyncio import Redis

from app.events.backend import ResilientPubSubBackend

CHANNELS = [f"events:user:{n}" for n in range(60)]


async def test_channels_subscribed_at_once_on_a_fresh_backend_all_hear_their_events(app):
    redis = Redis.from_url(app.state.settings.redis_url)
    backend = ResilientPubSubBackend(redis=redis)
    heard: set[str] = set()

    async def listen() -> None:
        async for channel, _ in backend.stream_events():
            heard.add(channel)

    try:
        await asyncio.gather(*(backend.subscribe([channel]) for channel in CHANNELS))
        listener = asyncio.create_task(listen())
        for channel in CHANNELS:
            await backend.publish(b"{}", [channel])
        for _ in range(200):
            if heard == set(CHANNELS):
                break
            await asyncio.sleep(0.05)
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        assert sorted(set(CHANNELS) - heard) == []
    finally:
        await backend.on_shutdown()
        await redis.aclose()
