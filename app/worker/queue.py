"""The job queue, built from our Redis client (SAQ's from_url does not take unix:// URLs)."""

from __future__ import annotations

from redis.asyncio import Redis
from saq.queue.redis import RedisQueue

QUEUE_NAME = "pactline"


def make_queue(redis: Redis) -> RedisQueue:
    return RedisQueue(redis, name=QUEUE_NAME)
