"""Timers that act on many rows act on each in its own transaction."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import DomainError


async def one_by_one(
    ctx: dict,
    ids: Iterable[int],
    verb: Callable[[AsyncSession, int], Awaitable[bool]],
    *,
    log: logging.Logger,
    what: str,
) -> int:
    """Run `verb(db, id)` for each id in a transaction of its own and count the ones it did. A
    racing person or a second run of the timer takes the same row locks, and whoever comes second
    finds the new state and does nothing; a refusal is logged and the next id goes on."""
    done = 0
    for row_id in ids:
        async with ctx["sessionmaker"]() as db, db.begin():
            try:
                done += bool(await verb(db, row_id))
            except DomainError as exc:
                log.warning("%s %s: %s", what, row_id, exc)
    return done
