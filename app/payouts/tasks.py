"""The worker side of payouts: sending a requested payout to the provider, handing a failed one's
money back at the provider, the recovery timer, and Monday's automatic payouts."""

from __future__ import annotations

from app.payouts import services
from app.worker.registry import task


def _provider(ctx: dict):
    from app.payments.providers import get_provider

    return get_provider(ctx["settings"], ctx["sessionmaker"])


@task(retries=8, retry_delay=10.0, max_delay=1800.0, timeout=90)
async def send_payout(ctx: dict, *, payout_id: int) -> str:
    """Ask the provider to pay a requested payout (no transaction open during the call). A
    ProviderError raises, so the worker retries with backoff; after the last attempt the recovery
    timer keeps trying. The provider's idempotency key makes every repeat the same payout."""
    return await services.send(ctx["sessionmaker"], _provider(ctx), payout_id)


@task(retries=8, retry_delay=10.0, max_delay=3600.0, timeout=60)
async def return_failed_payout(ctx: dict, *, payout_id: int) -> str:
    """A failed payout's money back to the platform at the provider (the ledger moved it already)."""
    return await services.return_failed(ctx["sessionmaker"], _provider(ctx), payout_id)


@task(retries=1, timeout=280)
async def recover_payouts(ctx: dict) -> str:
    """Every five minutes: payouts a dead job or a lost webhook left half done are finished from
    the provider's record (see services.recover)."""
    done = await services.recover(ctx["sessionmaker"], _provider(ctx))
    return f"resent {done['resent']}, re-read {done['reread']}, errors {done['errors']}"


@task(retries=1, timeout=1800)
async def weekly_payouts(ctx: dict) -> str:
    """Mondays 06:00 UTC: the whole available balance of each contractor who chose it."""
    settings = ctx["settings"]
    run = await services.automatic_payouts(
        ctx["sessionmaker"], _provider(ctx).name, minimum_minor=settings.payout_minimum_minor
    )
    return f"requested {len(run.requested)}, skipped {len(run.skipped)}"
