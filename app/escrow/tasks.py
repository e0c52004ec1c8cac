"""The worker side of escrow: the hourly purge of idempotency keys past their day."""

from __future__ import annotations

from app.escrow.idempotency import purge
from app.worker.registry import task


@task(retries=3, timeout=120)
async def purge_idempotency_keys(ctx: dict) -> int:
    """Keys (and the answers kept with them) live 24 hours, like Stripe's (decision 0032)."""
    return await purge(ctx["sessionmaker"])
