"""/admin/reconciliation and the overview: the runs with their differing rows, acknowledging a run
(on the audit chain), a run asked for a day (through the worker), the unacknowledged-mismatch
banner, and money in escrow by currency next to the sum of the contracts' escrow balances."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, text

from app.audit.models import AuditEvent
from app.db import utcnow
from app.escrow.models import Account, AccountKind
from app.payments.models import ReconciliationRun, SandboxRefund
from app.worker.models import OutboxJob
from tests.payments.reconciliation_support import a_days_money, deal, paid_funding, run_for_today
from tests.support.polling import wait_for


async def a_mismatched_run(app, db):
    day = await a_days_money(app, db)
    await db.execute(delete(SandboxRefund).where(SandboxRefund.idempotency_key == day.refund_key))
    await db.commit()
    return day, await run_for_today(app)


@pytest.mark.parametrize("path", ["/admin/reconciliation"])
async def test_the_page_is_not_found_for_clients_and_contractors(client, contractor, path):
    assert (await client.get(path)).status_code == 404
    assert (await contractor.get(path)).status_code == 404
    assert (await client.post_form("/admin/reconciliation/run", {"day": "2026-11-30"})).status_code == 404
    assert (await contractor.post_form("/admin/reconciliation/1/acknowledge")).status_code == 404


async def test_the_page_shows_the_runs_newest_first_with_the_rows_that_differ(app, db, admin):
    day, run = await a_mismatched_run(app, db)
    await db.execute(delete(ReconciliationRun).where(ReconciliationRun.id != run.id))
    await db.commit()

    page = await admin.get("/admin/reconciliation")

    assert page.status_code == 200
    body = html.unescape(page.text)
    assert "Differences" in body and "2 rows differ" in body
    assert day.refund_key in body and "No refund with this key." in body
    assert "What our books say" in body and "What the provider says" in body
    assert 'href="/admin/reconciliation"' in body and ">Reconciliation<" in body  # in the console's navigation
    assert body.count(">Acknowledge<") == 1
    # A clean run after it is listed first.
    await db.execute(text("DELETE FROM reconciliation_runs"))
    await db.commit()
    await run_for_today(app)  # mismatched (the refund is still gone)
    clean_day = await run_for_today(app, now=utcnow() + timedelta(days=3))
    body = html.unescape((await admin.get("/admin/reconciliation")).text)
    assert body.index(f'id="run-{clean_day.id}"') < body.index(f'id="run-{clean_day.id - 1}"')


async def test_acknowledging_a_run_writes_the_audit_event_with_the_admin(app, db, admin):
    _, run = await a_mismatched_run(app, db)
    admin_id, admin_name, run_id = admin.user.id, admin.user.name, run.id
    overview = html.unescape((await admin.get("/admin")).text)
    assert "The books and the payment provider differ." in overview

    answer = await admin.post_form(f"/admin/reconciliation/{run_id}/acknowledge")

    assert answer.status_code == 303 and answer.headers["location"] == "/admin/reconciliation"
    db.expire_all()
    done = await db.get_one(ReconciliationRun, run_id)
    assert done.acknowledged_by == admin_id and done.acknowledged_at is not None
    event = await db.scalar(select(AuditEvent).where(AuditEvent.kind == "reconciliation_acknowledged"))
    assert event.actor_id == admin_id and event.subject_id == str(run_id) and event.data["mismatches"] == 2
    body = html.unescape((await admin.get("/admin/reconciliation")).text)
    assert f"By {admin_name}" in body and ">Acknowledge<" not in body
    assert "The books and the payment provider differ." not in (await admin.get("/admin")).text
    # A second click changes nothing and writes nothing more.
    assert (await admin.post_form(f"/admin/reconciliation/{run_id}/acknowledge")).status_code == 303
    assert (
        len((await db.scalars(select(AuditEvent).where(AuditEvent.kind == "reconciliation_acknowledged"))).all()) == 1
    )


async def test_a_run_for_a_day_goes_through_the_worker(app, db, admin):
    today = utcnow().date().isoformat()

    answer = await admin.post_form("/admin/reconciliation/run", {"day": today})

    assert answer.status_code == 303
    job = await db.scalar(select(OutboxJob).where(OutboxJob.function == "reconcile_day"))
    assert job.kwargs == {"day": today}  # the request only wrote the job; the worker runs it
    event = await db.scalar(select(AuditEvent).where(AuditEvent.kind == "reconciliation_requested"))
    assert event.actor_id == admin.user.id and event.subject_id == today

    async def finished():
        db.expire_all()
        return await db.scalar(select(ReconciliationRun).where(ReconciliationRun.status == "clean"))

    run = await wait_for(finished, what="the run")
    assert run.day.isoformat() == today


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Enter a date like 2026-11-30."),
        ("30/11/2026", "Enter a date like 2026-11-30."),
        ("2026-02-30", "Enter a date like 2026-11-30."),
        ("9999-12-31", "has not happened yet"),
        ("1999-12-31", "Choose a day from 1 January 2000 on."),
    ],
)
async def test_a_bad_day_is_refused_next_to_the_field(db, admin, value, message):
    answer = await admin.post_form("/admin/reconciliation/run", {"day": value})
    assert answer.status_code == 422
    assert message in html.unescape(answer.text) and 'aria-invalid="true"' in answer.text
    assert await db.scalar(select(OutboxJob).where(OutboxJob.function == "reconcile_day")) is None


async def test_the_overview_shows_money_in_escrow_equal_to_the_contracts_balances(app, db, admin):
    first, second = await deal(db), await deal(db)
    await paid_funding(app, db, first, *first.milestones)  # €3,000.00
    await paid_funding(app, db, second, second.milestones[0])  # €1,000.00

    body = html.unescape((await admin.get("/admin")).text)

    assert "Money in escrow" in body
    assert body.count("€4,000.00") == 2  # the escrow accounts, and the contracts' balances added up
    assert "2 contracts holding money" in body and 'data-status="completed">Equal<' in body

    # The kept balance column drifts behind the trigger's back: the console says so, in words.
    async with app.state.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE ledger_accounts DISABLE TRIGGER ledger_accounts_guarded"))
        await conn.execute(
            text("UPDATE ledger_accounts SET balance_minor = balance_minor + 500 WHERE kind = 'escrow' AND id = "
                 "(SELECT min(id) FROM ledger_accounts WHERE kind = 'escrow')")
        )  # fmt: skip
        await conn.execute(text("ALTER TABLE ledger_accounts ENABLE TRIGGER ledger_accounts_guarded"))
    body = html.unescape((await admin.get("/admin")).text)
    assert "Not equal: the escrow accounts hold €5.00 more than the contracts" in body
    accounts = (await db.scalars(select(Account).where(Account.kind == AccountKind.escrow))).all()
    assert len(accounts) == 2


async def test_the_live_signal_refetches_the_runs_and_the_banner_alone(app, db, admin):
    await a_mismatched_run(app, db)
    runs = await admin.htmx("GET", "/admin/reconciliation")
    assert runs.status_code == 200 and "<html" not in runs.text
    assert 'id="reconciliation-runs"' in runs.text and 'hx-trigger="sse:reconciliation-mismatch"' in runs.text
    banner = await admin.htmx("GET", "/admin")
    assert banner.status_code == 200 and "<html" not in banner.text
    assert 'id="reconciliation-banner"' in banner.text and "The books and the payment provider differ." in banner.text
