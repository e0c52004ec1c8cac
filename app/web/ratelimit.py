"""Fixed-window counters in Redis, and the client's address as seen through trusted proxies."""

from __future__ import annotations

import ipaddress
import math
import time
from dataclasses import dataclass

from litestar import Request
from redis.asyncio import Redis


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


class RateLimiter:
    """`hit` counts an attempt; `check` only looks. Keys expire with their window."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    def _key(self, limit: Limit, subject: str) -> str:
        window = int(time.time()) // limit.window_seconds
        return f"ratelimit:{limit.name}:{subject}:{window}"

    async def check(self, limit: Limit, subject: str) -> Verdict:
        key = self._key(limit, subject)
        count = int(await self.redis.get(key) or 0)
        return self._verdict(limit, count, await self.redis.ttl(key))

    async def hit(self, limit: Limit, subject: str) -> Verdict:
        key = self._key(limit, subject)
        async with self.redis.pipeline(transaction=True) as pipe:
            # SET NX EX creates the counter with its expiry (EXPIRE NX needs Redis 7).
            pipe.set(key, 0, ex=limit.window_seconds, nx=True)
            pipe.incr(key)
            pipe.ttl(key)
            _, count, ttl = await pipe.execute()
        return self._verdict(limit, count - 1, ttl)

    async def reset(self, limit: Limit, subject: str) -> None:
        await self.redis.delete(self._key(limit, subject))

    @staticmethod
    def _verdict(limit: Limit, count_before: int, ttl: int) -> Verdict:
        if count_before < limit.attempts:
            return Verdict(True, 0)
        return Verdict(False, max(ttl, 1))


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
