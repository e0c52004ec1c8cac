"""A phone that loses its connection on a conversation page says "Reconnecting…", and when the
line is back it shows what was said meanwhile, each message once, without a reload."""

import re

import pytest
from playwright.async_api import expect

from tests.conversations.helpers import clara_and_noor, say
from tests.support.browser import sign_in
from tests.support.cut_line import CutLine

pytestmark = pytest.mark.browser


async def test_a_dropped_connection_says_reconnecting_then_catches_up_once(phone, live_server, db):
    client, contractor, _, conversation = await clara_and_noor(db)
    await say(db, conversation, contractor, "Before the tunnel")

    await sign_in(phone, client.email)  # on the live server; the cookie holds for any port of the host
    async with CutLine(live_server.port) as line:
        await phone.goto(line.url + conversation.path)
        messages = phone.locator("#message-window .message")
        await expect(messages).to_have_count(1)
        status = phone.locator("#live-status")
        await expect(phone.locator("body")).to_have_attribute("sse-connect", re.compile(r"/events\?.*conversation="))
        await expect(status).to_be_hidden()

        line.cut_now()
        await expect(status).to_be_visible(timeout=15_000)
        await expect(status).to_have_text("Reconnecting…")

        await say(db, conversation, contractor, "Said while you were offline")
        await say(db, conversation, contractor, "And one more")

        line.mend()
        await expect(messages).to_have_count(3, timeout=30_000)
        await expect(status).to_be_hidden()
        texts = await messages.all_inner_texts()
        assert [
            sum(words in t for t in texts)
            for words in ("Before the tunnel", "Said while you were offline", "And one more")
        ] == [1, 1, 1]
