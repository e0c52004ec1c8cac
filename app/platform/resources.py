"""The shared connections of a process (web, worker or CLI): database, Redis, queue, dispatcher."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from saq.queue.redis import RedisQueue
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import make_engine, make_sessionmaker
from app.events.dispatch import Dispatcher
from app.worker.queue import make_queue

# "Redis is not answering" (refused, reset, timed out, still loading its data after a restart), as
# opposed to a Redis that answered with an error (a bug, which stays a 500).
REDIS_UNAVAILABLE: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError)

# Every command we send is quick; a Redis that has not answered within this is down for our
# purposes, and the request should say so now rather than hold a worker for tens of seconds.
REDIS_CONNECT_TIMEOUT = 1.0
REDIS_SOCKET_TIMEOUT = 2.0


def make_redis(settings: Settings) -> Redis:
    """One client (and connection pool) per process. A pooled connection broken by a Redis restart
    fails once and is replaced on the spot (one retry on connection errors, none on timeouts, so a
    hung Redis costs a request one socket timeout, not several)."""
    return Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=REDIS_CONNECT_TIMEOUT,
        socket_timeout=REDIS_SOCKET_TIMEOUT,
        health_check_interval=15,
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        retry_on_error=[RedisConnectionError],
    )


@dataclass
class Resources:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: Redis
    queue: RedisQueue
    dispatcher: Dispatcher

    @classmethod
    def create(cls, settings: Settings) -> Resources:
        engine = make_engine(settings)
        sessionmaker = make_sessionmaker(engine)
        redis = make_redis(settings)
        queue = make_queue(redis)
        dispatcher = Dispatcher(
            sessionmaker,
            redis,
            backlog_size=settings.event_backlog_size,
            backlog_seconds=settings.event_backlog_seconds,
            queue=queue,
        )
        return cls(settings, engine, sessionmaker, redis, queue, dispatcher)

    def as_context(self) -> dict:
        return {
            "settings": self.settings,
            "sessionmaker": self.sessionmaker,
            "redis": self.redis,
            "queue": self.queue,
            "dispatcher": self.dispatcher,
        }

    async def close(self) -> None:
        await self.dispatcher.stop()
        await self.redis.aclose()
        await self.engine.dispose()
