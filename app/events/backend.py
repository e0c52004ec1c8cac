"""Litestar Channels over Redis pub/sub that survives Redis restarts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Iterable
from typing import Any

from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from redis.exceptions import RedisError

log = logging.getLogger("pactline.events")


class ResilientPubSubBackend(RedisChannelsPubSubBackend):
    """The stock backend's reader dies with the first connection error; this one waits and
    resubscribes (redis-py re-sends SUBSCRIBE for known channels on reconnect), so open
    streams resume when Redis returns. Events published meanwhile wait in the outbox.

    Subscribing and unsubscribing take turns: redis-py's PubSub opens its connection on first use
    without a lock, so the first subscriptions of a fresh process made at the same moment (every
    browser reconnecting after a deploy) each opened a connection, and the channels subscribed on
    all but the last one were never read — those people got no live events until they reloaded."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._turns = asyncio.Lock()

    async def subscribe(self, channels: Iterable[str]) -> None:
        async with self._turns:
            await super().subscribe(channels)

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        async with self._turns:
            await super().unsubscribe(channels)

    async def stream_events(self) -> AsyncGenerator[tuple[str, Any], None]:
        delay = 0.2
        while True:
            try:
                async for item in super().stream_events():
                    delay = 0.2
                    yield item
            except (RedisError, OSError) as exc:
                log.warning("live event channel lost (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
