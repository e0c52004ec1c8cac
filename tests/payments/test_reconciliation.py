"""The daily reconciliation against the sandbox's list API: a clean day raises no alert; a
mismatch injected into the provider's records is found row by row, and every admin gets the live
signal and the e-mail; a provider that does not answer fails the run and the task raises."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, func, select, update

from app.accounts.models import Role
from app.cli import main as cli
from app.db import utcnow
from app.events.models import OutboxEvent
from app.notifications.models import Notification
from app.payments.models import (
    ReconciliationMismatch,
    ReconciliationRun,
    SandboxPayment,
    SandboxPaymentStatus,
    SandboxPayout,
    SandboxRefund,
)
from app.payments.provider import ProviderError
from app.payments.reconciliation import LIVE_EVENT, FutureDay, reconcile
from app.payments.sandbox import SandboxProvider
from app.payments.tasks import ReconciliationFailed, reconcile_day
from tests.payments.reconciliation_support import LATER, a_days_money, run_for_today
from tests.support.factories import make_user
from tests.support.polling import wait_for


async def mismatches(db, run) -> set[tuple[str, str]]:
    rows = (await db.scalars(select(ReconciliationMismatch).where(ReconciliationMismatch.run_id == run.id))).all()
    return {(row.kind, row.reference) for row in rows}


async def alert_rows(db) -> tuple[list[OutboxEvent], list[Notification]]:
    """The console's page signals and the admins' notifications (each e-mailed)."""
    db.expire_all()
    signals = (await db.scalars(select(OutboxEvent).where(OutboxEvent.event == LIVE_EVENT))).all()
    notices = (await db.scalars(select(Notification).where(Notification.kind == "reconciliation.mismatch"))).all()
    return list(signals), list(notices)


async def test_a_clean_day_raises_no_alert(app, db):
    await make_user(db, role=Role.admin)
    await a_days_money(app, db)

    run = await run_for_today(app)

    assert run.status == "clean", await mismatches(db, run)
    assert run.checked == {"payments": 2, "refunds": 1, "payouts": 3, "currencies": 1, "too recent to judge": 0}
    assert await mismatches(db, run) == set()
    assert await alert_rows(db) == ([], [])
    # The same day again: the same verdict, and still no alert.
    again = await run_for_today(app)
    assert again.id != run.id and again.status == "clean" and again.checked == run.checked
    assert await alert_rows(db) == ([], [])


async def test_mismatches_injected_into_the_providers_records_are_found_and_the_admins_alerted(app, db, smtp_server):
    admin = await make_user(db, role=Role.admin, email="money.admin@example.test")
    other_admin = await make_user(db, role=Role.admin, email="second.admin@example.test")
    admins = sorted([(admin.id, admin.email), (other_admin.id, other_admin.email)])
    day = await a_days_money(app, db)
    # The provider's records are changed behind the ledger's back:
    await db.execute(  # the amount of a payment
        update(SandboxPayment).where(SandboxPayment.id == day.paid.provider_payment_id).values(amount_minor=299_000)
    )
    db.add(  # a payment that succeeded with no funding
        SandboxPayment(id="sbpay_stray", reference="fund_stray", payer_user_id=day.first.client.id,
                       amount_minor=5_000, currency="EUR", return_url="/", status=SandboxPaymentStatus.succeeded)
    )  # fmt: skip
    await db.execute(  # a payout paid that the ledger returned to the balance as failed
        update(SandboxPayout).where(SandboxPayout.reference == day.payouts["failed"].public_id).values(status="paid")
    )
    await db.execute(delete(SandboxRefund).where(SandboxRefund.idempotency_key == day.refund_key))  # a refund gone
    await db.commit()

    run = await run_for_today(app)

    assert run.status == "mismatched"
    expected = {
        ("payment", day.paid.public_id),
        ("payment", "fund_stray"),
        ("payout", day.payouts["failed"].public_id),
        ("refund", day.refund_key),
        ("balance", "EUR"),
    }
    assert await mismatches(db, run) == expected  # exactly the rows that differ, none of those that agree
    rows = {
        (r.kind, r.reference): r
        for r in await db.scalars(select(ReconciliationMismatch).where(ReconciliationMismatch.run_id == run.id))
    }
    amount = rows[("payment", day.paid.public_id)]
    assert "€3,000.00" in amount.ledger and "€2,990.00" in amount.provider_says
    assert "No funding entry" in rows[("payment", "fund_stray")].ledger
    assert rows[("payment", "fund_stray")].provider_object_id == "sbpay_stray"
    payout = rows[("payout", day.payouts["failed"].public_id)]
    assert "returned to the contractor's balance" in payout.ledger and "paid" in payout.provider_says
    assert "paid twice" in payout.note
    assert rows[("refund", day.refund_key)].provider_says == "No refund with this key."
    balance = rows[("balance", "EUR")]
    assert "€2,800.00" in balance.ledger and "€3,640.00" in balance.provider_says

    signals, notices = await alert_rows(db)
    assert sorted(s.user_id for s in signals) == [admin_id for admin_id, _ in admins]
    assert sorted(n.user_id for n in notices) == [admin_id for admin_id, _ in admins]
    assert all(n.link == "/admin/reconciliation" and "differ in 5 rows" in n.title for n in notices)

    addresses = {email for _, email in admins}

    async def both_sent():  # by the worker, from those rows
        sent = [m for m in smtp_server.messages if m["To"] in addresses]
        return sent if len(sent) == 2 else None

    sent = await wait_for(both_sent, what="both jobs handed over")
    assert all("differ for" in m["Subject"] and "/unsubscribe/" in m["List-Unsubscribe"] for m in sent)
    body = sent[0].get_body(preferencelist=("plain",)).get_content()
    assert "differ in 5 rows" in body and "/admin/reconciliation" in body

    # The same day again: the same rows.
    again = await run_for_today(app)
    assert again.status == "mismatched" and await mismatches(db, again) == expected


async def test_a_provider_payment_too_young_to_judge_waits_for_its_webhook(app, db):
    await make_user(db, role=Role.admin)
    d = await a_days_money(app, db)
    db.add(
        SandboxPayment(id="sbpay_justnow", reference="fund_justnow", payer_user_id=d.first.client.id,
                       amount_minor=5_000, currency="EUR", return_url="/", status=SandboxPaymentStatus.succeeded)
    )  # fmt: skip
    await db.commit()

    run = await run_for_today(app, now=utcnow() + timedelta(minutes=1))

    assert run.status == "clean" and run.checked["too recent to judge"] == 1
    assert await alert_rows(db) == ([], [])
    later = await run_for_today(app)  # past the grace period, the same record is a mismatch
    assert later.status == "mismatched" and ("payment", "fund_justnow") in await mismatches(db, later)


class Unreachable(SandboxProvider):
    async def list_records(self, *, since, until):
        raise ProviderError("connection refused by the provider")


async def test_a_provider_error_fails_the_run_and_the_task_raises(app, db, monkeypatch):
    await make_user(db, role=Role.admin)
    run = await run_for_today(app, provider=Unreachable(app.state.sessionmaker))
    assert run.status == "failed" and "connection refused" in run.error and run.finished_at is not None
    assert await alert_rows(db) == ([], [])

    monkeypatch.setattr(SandboxProvider, "list_records", Unreachable.list_records)
    ctx = {"settings": app.state.settings, "sessionmaker": app.state.sessionmaker}
    with pytest.raises(ReconciliationFailed, match="connection refused"):
        await reconcile_day(ctx, day=utcnow().date().isoformat())
    statuses = (await db.scalars(select(ReconciliationRun.status).order_by(ReconciliationRun.id))).all()
    assert statuses == ["failed", "failed"]


async def test_a_day_that_has_not_begun_is_refused(app):
    with pytest.raises(FutureDay):
        await reconcile(
            app.state.sessionmaker, SandboxProvider(app.state.sessionmaker), utcnow().date() + timedelta(days=2)
        )


async def test_the_cli_prints_the_verdict_and_exits_1_on_a_mismatch(app, db):
    await make_user(db, role=Role.admin)
    day = await a_days_money(app, db)
    today = utcnow().date().isoformat()
    # The CLI judges from now: the records made a moment ago are not judged yet, so make them old.
    for table in (SandboxPayment, SandboxRefund, SandboxPayout):
        await db.execute(update(table).values(created_at=table.created_at - LATER))
    await db.commit()
    if (await db.scalar(select(func.min(SandboxPayment.created_at)))).date().isoformat() != today:
        pytest.skip("too close to midnight UTC for a run of today")

    clean = await asyncio.to_thread(CliRunner().invoke, cli, ["reconcile", "--day", today])
    assert clean.exit_code == 0, clean.output
    assert "clean" in clean.output and "2 payments, 1 refunds, 3 payouts" in clean.output

    await db.execute(delete(SandboxRefund).where(SandboxRefund.idempotency_key == day.refund_key))
    await db.commit()
    found = await asyncio.to_thread(CliRunner().invoke, cli, ["reconcile", "--day", today])
    assert found.exit_code == 1
    assert "MISMATCH" in found.output and day.refund_key in found.output and "No refund with this key." in found.output

    bad = await asyncio.to_thread(CliRunner().invoke, cli, ["reconcile", "--day", "30/11/2026"])
    assert bad.exit_code == 2 and "is not a date" in bad.output
