"""Fixed-window counters in Redis, and the client's address as seen through trusted proxies.

Counting comes first and is atomic, so a burst of parallel requests cannot all pass a check that
none of them has counted yet. Subjects are hashed into the keys: a key never holds an e-mail
address (or anything else a visitor typed), and its length does not depend on the input."""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from dataclasses import dataclass

from litestar import Request
from redis.asyncio import Redis

# One attempt against every limit at once. If any limit is now exceeded, every count is taken
# back in the same script: a refused request leaves no trace, and no other request ever sees it.
# Returns {index of the exceeded limit (1-based; 0 = allowed), its seconds to reset}.
_ATTEMPT = """
local over, retry = 0, 0
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if redis.call('TTL', key) < 0 then redis.call('EXPIRE', key, ARGV[i]) end
  if over == 0 and count > tonumber(ARGV[#KEYS + i]) then
    over, retry = i, redis.call('TTL', key)
  end
end
if over > 0 then
  for _, key in ipairs(KEYS) do redis.call('DECR', key) end
end
return {over, retry}
"""

# Take attempts back (they succeeded). A window that ended meanwhile has nothing to give back.
_FORGIVE = """
for _, key in ipairs(KEYS) do
  local count = tonumber(redis.call('GET', key) or '0')
  if count > 0 then redis.call('DECR', key) end
end
return 0
"""


@dataclass(frozen=True)
class Limit:
    name: str
    attempts: int
    window_seconds: int


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds until the window resets (0 when allowed)

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.retry_after / 60))


@dataclass(frozen=True)
class Attempt:
    """An attempt counted against some limits: refused (nothing counted) or allowed (counted
    until `RateLimiter.forgive` takes it back)."""

    verdict: Verdict
    keys: tuple[str, ...]

    @property
    def allowed(self) -> bool:
        return self.verdict.allowed


def subject_hash(subject: str) -> str:
    return hashlib.sha256(subject.encode("utf-8", "surrogatepass")).hexdigest()


class RateLimiter:
    """`hit` counts every request (refused ones too); `attempt` + `forgive` count only failures:
    count first, decide, and take the count back when the attempt turns out to be a success."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    @staticmethod
    def key(limit: Limit, subject: str) -> str:
        window = int(time.time()) // limit.window_seconds
        return f"ratelimit:{limit.name}:{subject_hash(subject)}:{window}"

    async def hit(self, limit: Limit, subject: str) -> Verdict:
        key = self.key(limit, subject)
        async with self.redis.pipeline(transaction=True) as pipe:
            # SET NX EX creates the counter with its expiry (EXPIRE NX needs Redis 7).
            pipe.set(key, 0, ex=limit.window_seconds, nx=True)
            pipe.incr(key)
            pipe.ttl(key)
            _, count, ttl = await pipe.execute()
        if count <= limit.attempts:
            return Verdict(True, 0)
        return Verdict(False, max(ttl, 1))

    async def attempt(self, *checks: tuple[Limit, str]) -> Attempt:
        keys = tuple(self.key(limit, subject) for limit, subject in checks)
        args = [limit.window_seconds for limit, _ in checks] + [limit.attempts for limit, _ in checks]
        over, retry = await self.redis.eval(_ATTEMPT, len(keys), *keys, *args)
        if int(over):
            return Attempt(Verdict(False, max(int(retry), 1)), ())
        return Attempt(Verdict(True, 0), keys)

    async def forgive(self, attempt: Attempt) -> None:
        if attempt.keys:
            await self.redis.eval(_FORGIVE, len(attempt.keys), *attempt.keys)


def request_ip(request: Request) -> str:
    """The client's address for this app (its configured trusted proxies)."""
    return client_ip(request, request.app.state.settings.trusted_proxies)


def client_ip(request: Request, trusted_proxies: tuple[str, ...]) -> str:
    """The peer address, or — when the peer is a trusted proxy — the right-most X-Forwarded-For
    hop that is not itself trusted. Hops further left were written by the client and can be
    forged. "*" means "the peer is always our one proxy" (Render): its right-most hop wins."""
    peer = request.client.host if request.client else "unknown"
    if not trusted_proxies or not _trusted(peer, trusted_proxies):
        return peer
    forwarded = [hop.strip() for hop in request.headers.get("x-forwarded-for", "").split(",") if hop.strip()]
    if "*" in trusted_proxies:
        return forwarded[-1] if forwarded else peer
    for hop in reversed(forwarded):
        if not _trusted(hop, trusted_proxies):
            return hop
    return forwarded[0] if forwarded else peer


def _trusted(address: str, trusted: tuple[str, ...]) -> bool:
    if "*" in trusted:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in trusted:
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False
