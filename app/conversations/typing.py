"""The typing indicator's signal (decision 0045): short-lived, on the conversation's own channel,
at most one per person and conversation every few seconds, never kept.

It is published straight to Redis, not through the outbox: a typing signal is only true for a few
seconds, so one lost to a crash is not worth delivering late, nor worth a row per keystroke
burst. The streams of that conversation's page (both parties, checked when subscribing) hear it."""

from __future__ import annotations

import json
import logging

from redis.asyncio import Redis

from app.conversations.presence import LIVE_ERRORS

log = logging.getLogger("pactline.typing")

TYPING_EVENT = "typing"
TYPING_EVERY_SECONDS = 3
"""At most one signal per person and conversation in this many seconds, whatever the browser sends."""


def conversation_channel(public_id: str) -> str:
    """The short-lived channel of one conversation (typing): only its parties' streams subscribe."""
    return f"live:conversation:{public_id}"


def throttle_key(public_id: str, user_id: int) -> str:
    return f"typing:throttle:{public_id}:{user_id}"


async def typing(redis: Redis, public_id: str, user_id: int) -> bool:
    """Tell the open pages of conversation `public_id` that `user_id` is typing, unless they were told less than
    a few seconds ago. True when a signal went out; False when throttled or Redis is away
    (the indicator then simply does not show)."""
    try:
        if not await redis.set(throttle_key(public_id, user_id), 1, nx=True, ex=TYPING_EVERY_SECONDS):
            return False
        data = json.dumps({"conversation": public_id, "user": user_id}, separators=(",", ":"))
        message = json.dumps({"event": TYPING_EVENT, "data": data}, separators=(",", ":"))
        await redis.publish(conversation_channel(public_id), message)
        return True
    except LIVE_ERRORS as exc:
        log.info("typing signal not sent: %s", exc)
        return False
