"""The shared connections of a process (web, worker or CLI): database, Redis, queue, dispatcher."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from saq.queue.redis import RedisQueue
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import make_engine, make_sessionmaker
from app.events.dispatch import Dispatcher
from app.worker.queue import make_queue


def make_redis(settings: Settings) -> Redis:
    return Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=2,
        socket_timeout=10,
        health_check_interval=15,
        retry_on_timeout=True,
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
