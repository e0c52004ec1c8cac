"""Conversation live tests: people signed in on the live server, their event streams, a channel
listened to from the test."""

from __future__ import annotations

import asyncio
import contextlib
import json

from tests.conftest import WebClient
from tests.support.factories import PASSWORD
from tests.support.sse import SSEStream


@contextlib.asynccontextmanager
async def on_live_server(live_server, user):
    """A browser signed in as `user` on the live server (a web process other than the test's app)."""
    async with WebClient(base_url=live_server.url, follow_redirects=False, timeout=15) as browser:
        await browser.sign_in(user.email, PASSWORD)
        browser.user = user
        yield browser


async def open_stream(browser, url: str = "/events", headers=None):
    request = browser.build_request("GET", url, headers={"Accept": "text/event-stream", **(headers or {})})
    response = await browser.send(request, stream=True)
    assert response.status_code == 200, response.status_code
    stream = SSEStream(response)
    await stream.next(skip_comments=False)  # "connected": subscribed from here on
    return response, stream


async def subscribers(redis, channel: str) -> int:
    return dict(await redis.pubsub_numsub(channel)).get(channel.encode(), 0)


class Listener:
    """The test's own subscription to a channel; `until_marker()` returns what came before a marker
    the test published itself, so "nothing else arrived" is checked without waiting on a clock."""

    def __init__(self, redis, channel: str) -> None:
        self.redis, self.channel = redis, channel
        self.pubsub = redis.pubsub()

    async def __aenter__(self):
        await self.pubsub.subscribe(self.channel)
        await self.pubsub.get_message(timeout=1)  # the subscribe confirmation
        return self

    async def __aexit__(self, *exc):
        await self.pubsub.aclose()

    async def until_marker(self, timeout: float = 10.0) -> list[dict]:
        marker = "end-of-test-marker"
        await self.redis.publish(self.channel, marker)
        received = []

        async def read():
            while True:
                message = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
                if message is None:
                    continue
                if message["data"] == marker.encode():
                    return received
                received.append(json.loads(message["data"]))

        return await asyncio.wait_for(read(), timeout)
