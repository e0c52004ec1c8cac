"""Presence (decision 0045): who is online, made of the event streams' connection state in Redis,
so every web process sees the same answer, and the narrow channel that says when it changed.

- `presence:conns:<uid>`: a sorted set of the person's open streams, each scored with the moment
  it expires unless its stream refreshes it (at its start and every heartbeat). A process that
  dies leaves entries that simply expire; "online" is any entry not yet expired.
- `presence:seen:<uid>`: when a stream of theirs was last alive (refreshed with the entries, and
  on close): "Last seen …".
- `presence:state:<uid>`: what was last announced, so a change is announced once.
- Channel `presence:<uid>`: "presence" signals, no id, no backlog; only the streams of
  conversation pages with that person subscribe. The "offline" announcement waits a few seconds
  and looks again, so moving from page to page (one stream closes, the next opens) never says
  offline and then online."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from litestar import Request
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.conversations.models import Conversation
from app.web.templating import _events_url

log = logging.getLogger("pactline.presence")

PRESENCE_EVENT = "presence"
OFFLINE_GRACE_SECONDS = 5.0
"""How long "offline" waits after a person's last stream closed: a page navigation opens the next
one well within it."""
SEEN_KEPT_SECONDS = 90 * 24 * 3600
LIVE_ERRORS = (RedisError, OSError)


def conns_key(user_id: int) -> str:
    return f"presence:conns:{user_id}"


def seen_key(user_id: int) -> str:
    return f"presence:seen:{user_id}"


def state_key(user_id: int) -> str:
    return f"presence:state:{user_id}"


def presence_channel(user_id: int) -> str:
    return f"presence:{user_id}"


def _signal(user_id: int, state: str) -> str:
    data = json.dumps({"user": user_id, "state": state}, separators=(",", ":"))
    return json.dumps({"event": PRESENCE_EVENT, "data": data}, separators=(",", ":"))


# Atomic, so two processes never both announce, nor announce from a half-made picture.
_ALIVE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[5])
local before = redis.call('GET', KEYS[3])
redis.call('SET', KEYS[3], 'online', 'EX', ARGV[4])
if before ~= 'online' then
  redis.call('PUBLISH', ARGV[6], ARGV[7])
  return 1
end
return 0
"""

_CLOSED = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
return redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[2], '+inf')
"""

_OFFLINE_IF_NONE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) == 0 and redis.call('GET', KEYS[2]) == 'online' then
  redis.call('SET', KEYS[2], 'offline', 'EX', ARGV[2])
  redis.call('PUBLISH', ARGV[3], ARGV[4])
  return 1
end
return 0
"""

_background: set[asyncio.Task] = set()


class Connection:
    """One open event stream of a person (app/events/stream.py's Liveness). Redis failing never
    ends or breaks the stream: presence just shows nothing until it answers again."""

    def __init__(self, redis: Redis, user_id: int, heartbeat: float) -> None:
        self.redis = redis
        self.user_id = user_id
        self.id = secrets.token_urlsafe(9)
        # Two missed heartbeats and a margin: then the entry no longer counts.
        self.ttl = max(2 * heartbeat + 5, 10)

    async def alive(self) -> None:
        now = time.time()
        uid = self.user_id
        try:
            await self.redis.register_script(_ALIVE)(
                keys=[conns_key(uid), seen_key(uid), state_key(uid)],
                args=[
                    self.id,
                    now + self.ttl,
                    now,
                    int(self.ttl) + 1,
                    SEEN_KEPT_SECONDS,
                    presence_channel(uid),
                    _signal(uid, "online"),
                ],
            )
        except LIVE_ERRORS as exc:
            log.info("presence not recorded: %s", exc)

    def gone(self) -> None:
        # A task of its own: the stream ending may be a cancellation, and the wait below outlives it.
        task = asyncio.get_running_loop().create_task(self._closed(), name="presence-closed")
        _background.add(task)
        task.add_done_callback(_background.discard)

    async def _closed(self) -> None:
        uid = self.user_id
        try:
            left = await self.redis.register_script(_CLOSED)(
                keys=[conns_key(uid), seen_key(uid)], args=[self.id, time.time(), SEEN_KEPT_SECONDS]
            )
            if int(left):
                return
            await asyncio.sleep(OFFLINE_GRACE_SECONDS)
            await self.redis.register_script(_OFFLINE_IF_NONE)(
                keys=[conns_key(uid), state_key(uid)],
                args=[
                    time.time(),
                    SEEN_KEPT_SECONDS,
                    presence_channel(uid),
                    _signal(uid, "offline"),
                ],
            )
        except LIVE_ERRORS as exc:
            log.info("presence not recorded: %s", exc)


@dataclass(frozen=True)
class Presence:
    online: bool
    last_seen: datetime | None

    def words(self, now: datetime | None = None) -> str:
        """ "Online", "Last seen 5 minutes ago", "Last seen 2 Dec", or nothing (never seen)."""
        if self.online:
            return "Online"
        if self.last_seen is None:
            return ""
        return "Last seen " + self.seen(now)

    def seen(self, now: datetime | None = None) -> str:
        return ago(self.last_seen, now or datetime.now(UTC)) if self.last_seen else ""


def ago(then: datetime, now: datetime) -> str:
    """Plain words: "just now", "5 minutes ago", "3 hours ago", then a date ("2 Dec", "2 Dec 2025")."""
    seconds = (now - then).total_seconds()
    if seconds < 60:
        return "just now"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''} ago"
    hours = minutes // 60
    if hours < 24:
        return f"{hours} hour{'s' if hours != 1 else ''} ago"
    then = then.astimezone(UTC)
    return then.strftime("%-d %b") if then.year == now.astimezone(UTC).year else then.strftime("%-d %b %Y")


async def presence_of(redis: Redis, user_id: int) -> Presence | None:
    """The person's presence as every web process sees it; None when Redis cannot say."""
    now = time.time()
    try:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.zcount(conns_key(user_id), f"({now}", "+inf")
            pipe.get(seen_key(user_id))
            open_streams, seen = await pipe.execute()
    except LIVE_ERRORS as exc:
        log.info("presence unknown: %s", exc)
        return None
    last_seen = None
    try:
        last_seen = datetime.fromtimestamp(float(seen), UTC) if seen is not None else None
    except ValueError:
        pass
    return Presence(online=int(open_streams) > 0, last_seen=last_seen)


def conversation_events_url(request: Request, conversation: Conversation) -> str:
    """The conversation page's one stream: the person's own (starting where the page was
    rendered, as every page's does) plus the conversation's typing and the other's presence."""
    url = _events_url(request)
    return url + ("&" if "?" in url else "?") + urlencode({"conversation": conversation.public_id})
