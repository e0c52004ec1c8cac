"""When Redis goes away and comes back, live subscriptions resume on their own."""

import asyncio
import tempfile
from pathlib import Path

from litestar.channels import ChannelsPlugin
from redis.asyncio import Redis

from app.events.backend import ResilientPubSubBackend
from app.platform.embedded import EmbeddedRedis


async def test_subscriptions_resume_after_a_redis_restart():
    server = EmbeddedRedis(Path(tempfile.mkdtemp(prefix="pl-redis-")))
    url = await asyncio.to_thread(server.start)
    client = Redis.from_url(url, socket_connect_timeout=1)
    plugin = ChannelsPlugin(backend=ResilientPubSubBackend(redis=client), arbitrary_channels_allowed=True)
    publisher = Redis.from_url(url)
    try:
        async with plugin:
            subscriber = await plugin.subscribe("events:user:7")
            received: asyncio.Queue[bytes] = asyncio.Queue()

            async def pump():
                async for item in subscriber.iter_events():
                    received.put_nowait(item)

            pumping = asyncio.create_task(pump())
            await asyncio.sleep(0.2)
            await publisher.publish("events:user:7", b"before")
            assert await asyncio.wait_for(received.get(), 5) == b"before"

            await asyncio.to_thread(server.stop)
            await asyncio.sleep(0.5)
            await asyncio.to_thread(server.start)

            # Publish until the resubscribed reader picks one up.
            got = None
            for _ in range(50):
                await publisher.publish("events:user:7", b"after")
                try:
                    got = await asyncio.wait_for(received.get(), 0.2)
                    break
                except TimeoutError:
                    continue
            assert got == b"after"
            await plugin.unsubscribe(subscriber)
            await pumping
    finally:
        await publisher.aclose()
        await client.aclose()
        await asyncio.to_thread(server.stop)
