"""Moves committed outbox rows to Redis: the per-user backlog and the live channel.

Delivery is at least once from Postgres' point of view and exactly once per outbox id
on the Redis side (deliver.lua), so a dispatcher that dies mid-batch only causes
re-delivery attempts that Redis recognises and drops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path

from redis.asyncio import Redis
from redis.exceptions import RedisError
from saq import Queue
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import utcnow
from app.events.models import OutboxEvent
from app.worker.outbox import hand_over

log = logging.getLogger("pactline.events")

_SCRIPT = (Path(__file__).parent / "deliver.lua").read_text()


def user_channel(user_id: int) -> str:
    return f"events:user:{user_id}"


def backlog_key(user_id: int) -> str:
    return f"events:backlog:{user_id}"


def seq_key(user_id: int) -> str:
    """The user's last stream id: a page remembers it so its stream starts from there."""
    return f"events:seq:{user_id}"


class Dispatcher:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        redis: Redis,
        *,
        backlog_size: int = 200,
        backlog_seconds: int = 24 * 3600,
        batch_size: int = 100,
        queue: Queue | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.redis = redis
        self.queue = queue  # given: committed job rows (app/worker/outbox.py) are handed to it too
        self.backlog_size = backlog_size
        self.backlog_seconds = backlog_seconds
        self.batch_size = batch_size
        self._script = redis.register_script(_SCRIPT)
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def deliver(self, row: OutboxEvent) -> bool:
        """Returns True when this call delivered it, False when it had been delivered before."""
        uid = row.user_id
        _, fresh = await self._script(
            keys=[backlog_key(uid), f"events:outbox:{uid}", seq_key(uid)],
            args=[
                row.id,
                row.event,
                row.data,
                user_channel(uid),
                self.backlog_size,
                self.backlog_seconds,
                int(time.time()),
            ],
        )
        return bool(fresh)

    async def drain(self) -> int:
        """Deliver every committed, undelivered event. Returns how many rows were marked."""
        total = 0
        while True:
            async with self.sessionmaker() as session, session.begin():
                rows = (
                    await session.scalars(
                        select(OutboxEvent)
                        .where(OutboxEvent.dispatched_at.is_(None))
                        .order_by(OutboxEvent.id)
                        .limit(self.batch_size)
                        .with_for_update(skip_locked=True)
                    )
                ).all()
                if not rows:
                    return total
                for row in rows:
                    await self.deliver(row)
                await session.execute(
                    update(OutboxEvent)
                    .where(OutboxEvent.id.in_([row.id for row in rows]))
                    .values(dispatched_at=utcnow(), attempts=OutboxEvent.attempts + 1)
                )
            total += len(rows)

    def kick(self) -> None:
        """Ask the background loop to drain now (safe to call from SQLAlchemy event hooks)."""
        self._wake.set()

    async def run(self, idle_seconds: float) -> None:
        """Drain whenever kicked, and at least every `idle_seconds`."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=idle_seconds)
            self._wake.clear()
            try:
                await self.drain()
                if self.queue is not None:
                    await hand_over(self.sessionmaker, self.queue, batch_size=self.batch_size)
            except (RedisError, OSError) as exc:
                log.warning("outbox dispatch paused: %s", exc)
                await asyncio.sleep(min(idle_seconds, 1.0))
            except Exception:
                log.exception("outbox dispatch failed")
                await asyncio.sleep(min(idle_seconds, 1.0))

    def start(self, idle_seconds: float) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run(idle_seconds), name="outbox-dispatch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
