"""Account housekeeping: failed sign-ins past their retention are deleted every night."""

from __future__ import annotations

from app.accounts.audit import trim_failed_sign_ins
from app.worker.registry import task


@task(retries=3, timeout=300)
async def purge_failed_sign_ins(ctx: dict) -> int:
    """Failures also trim the table as they are recorded; this covers quiet periods."""
    deleted = 0
    while True:
        async with ctx["sessionmaker"]() as session, session.begin():
            batch = await trim_failed_sign_ins(session)
        deleted += batch
        if not batch:
            return deleted
