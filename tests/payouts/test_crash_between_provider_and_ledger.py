"""The worker killed between "payout requested at the provider" and "ledger updated" (issue 15):
a real payout job in its own process, SIGKILLed the moment the sandbox accepted the payout. The
recovery timer then finishes it from the provider's record — the same payout, thanks to the
idempotency key — so it is paid (or, to the bouncing IBAN, failed and returned) exactly once."""

import asyncio
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from app.db import utcnow
from app.escrow.ledger import verify
from app.escrow.models import AccountKind
from app.money import Money
from app.payments import sandbox_payouts
from app.payments.models import SandboxPayout
from app.payments.sandbox import SandboxProvider
from app.payouts import services
from app.payouts.models import PayoutStatus
from app.worker.models import OutboxJob
from tests.payouts.helpers import balance, entries, payouts, ready_contractor, wait_for
from tests.platform.test_side_effects_survive_crashes import paused_dispatcher
from tests.support.live import live_servers_paused

ROOT = Path(__file__).resolve().parents[2]


async def crash_mid_payout(app, db, test_env, user) -> str:
    """Request a payout of €900.00 and run its job in a process that dies right after the
    provider accepted it. Returns the payout's public id."""
    async with paused_dispatcher(app):
        payout = await services.request_payout(db, user, Money(90_000, "EUR"), provider="sandbox", minimum_minor=1000)
        await db.commit()
        payout_id, public_id = payout.id, payout.public_id
        # The job of this row is the process below (the queue never gets it here).
        await db.execute(update(OutboxJob).where(OutboxJob.function == "send_payout")
                         .values(enqueued_at=utcnow(), done_at=utcnow()))  # fmt: skip
        await db.commit()
        env = {**os.environ, **test_env}
        died = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "tests.support.crash_after_payout", str(payout_id)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert died.returncode == -9, died.stderr[-2000:]
        assert "the provider accepted sbpo_" in died.stderr

        # The provider has the payout; our books still say "requested" and hold it in transit.
        [at_provider] = (await db.scalars(select(SandboxPayout))).all()
        assert at_provider.reference == public_id and at_provider.status == "pending"
        [ours] = await payouts(db, user.id)
        assert ours.status == PayoutStatus.requested and ours.provider_payout_id is None
        assert await entries(db, "payout:") == 1 and await entries(db, "payout_paid:") == 0
    return public_id


async def settled_at_provider(db, public_id):
    async def check():
        row = await db.scalar(select(SandboxPayout).where(SandboxPayout.reference == public_id)
                              .execution_options(populate_existing=True))  # fmt: skip
        return row if row is not None and row.status != "pending" else None

    return await wait_for(check, what="the sandbox bank settling the payout")


async def test_a_payout_job_killed_after_the_provider_accepted_is_paid_once_on_recovery(
    app, db, contractor, test_env, held_webhooks
):
    me, me_id = contractor.user, contractor.user.id
    await ready_contractor(app, db, me)
    with live_servers_paused():
        public_id = await crash_mid_payout(app, db, test_env, me)
        await settled_at_provider(db, public_id)  # the bank paid; its webhook cannot get through

        provider = SandboxProvider(app.state.sessionmaker)
        done = await services.recover(app.state.sessionmaker, provider, now=utcnow() + timedelta(hours=1))
        assert done == {"resent": 1, "reread": 0, "errors": 0}
        again = await services.recover(app.state.sessionmaker, provider, now=utcnow() + timedelta(hours=1))
        assert again == {"resent": 0, "reread": 0, "errors": 0}

    [payout] = await payouts(db, me_id)
    assert payout.status == PayoutStatus.paid
    [at_provider] = (await db.scalars(select(SandboxPayout).execution_options(populate_existing=True))).all()
    assert payout.provider_payout_id == at_provider.id and at_provider.status == "paid"
    assert await entries(db, "payout:") == 1 and await entries(db, "payout_paid:") == 1
    assert await entries(db, "payout_returned:") == 0
    assert await balance(db, AccountKind.contractor_payable, me_id) == 0
    assert await balance(db, AccountKind.payouts_in_transit, me_id) == 0
    assert (await verify(db)).ok


async def test_a_killed_payout_to_the_bouncing_iban_ends_failed_with_the_money_back(
    app, db, contractor, test_env, held_webhooks
):
    me, me_id = contractor.user, contractor.user.id
    await ready_contractor(app, db, me, iban=sandbox_payouts.BOUNCES)
    with live_servers_paused():
        public_id = await crash_mid_payout(app, db, test_env, me)
        provider = SandboxProvider(app.state.sessionmaker)
        await settled_at_provider(db, public_id)
        await services.recover(app.state.sessionmaker, provider, now=utcnow() + timedelta(hours=1))

    [payout] = await payouts(db, me_id)
    assert payout.status == PayoutStatus.failed and "€900.00 is back in your balance." in payout.failure_message
    assert len((await db.scalars(select(SandboxPayout))).all()) == 1
    assert await entries(db, "payout:") == 1 and await entries(db, "payout_returned:") == 1
    assert await entries(db, "payout_paid:") == 0
    assert await balance(db, AccountKind.contractor_payable, me_id) == 90_000
    assert (await verify(db)).ok


async def test_a_sent_payout_whose_webhook_never_came_is_read_back_from_the_provider(
    app, db, contractor, held_webhooks
):
    me, me_id = contractor.user, contractor.user.id
    await ready_contractor(app, db, me)
    payout = await services.request_payout(db, me, Money(50_000, "EUR"), provider="sandbox", minimum_minor=1000)
    await db.commit()
    public_id = payout.public_id
    await settled_at_provider(db, public_id)

    async def sent():
        [p] = await payouts(db, me_id)
        return p if p.status == PayoutStatus.sent else None

    await wait_for(sent, what="the payout being sent")
    provider = SandboxProvider(app.state.sessionmaker)
    soon = await services.recover(app.state.sessionmaker, provider)  # no news yet is not "quiet" yet
    assert soon == {"resent": 0, "reread": 0, "errors": 0}
    later = await services.recover(app.state.sessionmaker, provider, now=utcnow() + timedelta(hours=1))
    assert later == {"resent": 0, "reread": 1, "errors": 0}
    [payout] = await payouts(db, me_id)
    assert payout.status == PayoutStatus.paid and await entries(db, "payout_paid:") == 1
    assert await balance(db, AccountKind.contractor_payable, me_id) == 40_000
