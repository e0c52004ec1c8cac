"""Reconciliation figures: one day's run over 100 000 journal entries, and the console's
money-in-escrow query over the same ledger.

The day is seeded in bulk (COPY into the tables, the ledger's per-row triggers off for the load
and the balances set from the postings afterwards — a bench database, nothing else uses it) in a
database of its own on the bench's Postgres, so no other scenario's money is in its whole-history
totals. What is seeded agrees on both sides: fundings with their sandbox payments, releases,
refunds the sandbox made and the ledger closed, payouts the sandbox paid and the ledger moved —
all inside the day. The run must come out clean; a mismatch would be a bug, and is printed."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

ENTRIES = 100_000
# Per group of four fundings: 4 fundings, 1 refund + its refund_paid, 2 releases, 1 payout + its
# payout_paid = 10 journal entries.
UNITS = ENTRIES * 4 // 10
DATABASE = "pactline_bench_reconciliation"
TOTALS_RUNS = 5


def _amount(k: int) -> int:
    return 10_000 + (k % 97) * 100  # a multiple of 100: the 10 % fee is exact


async def _create_database(env: dict[str, str]) -> str:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.config import load_settings

    url = make_url(load_settings(env).async_database_url)
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}"'))
            await conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    finally:
        await engine.dispose()
    return url.set(database=DATABASE).render_as_string(hide_password=False).replace("+asyncpg", "")


async def _parties(sessions, settings):
    """One active contract made through the verbs (bench/escrow.py), its client and contractor."""
    from app.accounts.models import Role
    from app.accounts.services import create_user
    from bench.escrow import Pair, active_contract

    async with sessions() as db, db.begin():
        client = await create_user(db, email="bench.recon.client@pactline.test", name="Bench Client",
                                   role=Role.client, password=None, verified=True)  # fmt: skip
        contractor = await create_user(db, email="bench.recon.contractor@pactline.test", name="Bench Contractor",
                                       role=Role.contractor, password=None, verified=True)  # fmt: skip
    contract_id, _ = await active_contract(sessions, settings, Pair(client, contractor), 0)
    return client.id, contractor.id, contract_id


async def _seed(sessions, settings, day: date) -> dict[str, int]:
    from sqlalchemy import text

    from app.escrow.ledger import account
    from app.escrow.models import AccountKind
    from app.payouts.models import PayoutMethod

    client_id, contractor_id, contract_id = await _parties(sessions, settings)
    async with sessions() as db, db.begin():
        accounts = {
            "clearing": await account(db, AccountKind.provider_clearing, "EUR"),
            "escrow": await account(db, AccountKind.escrow, "EUR", contract_id=contract_id),
            "refunds": await account(db, AccountKind.refunds, "EUR", user_id=client_id),
            "payable": await account(db, AccountKind.contractor_payable, "EUR", user_id=contractor_id),
            "fees": await account(db, AccountKind.platform_fees, "EUR"),
            "transit": await account(db, AccountKind.payouts_in_transit, "EUR", user_id=contractor_id),
        }
        acct = {name: a.id for name, a in accounts.items()}
        await db.execute(
            text("INSERT INTO sandbox_payout_accounts (id, user_id, holder_name, iban_last4) "
                 "VALUES ('sbacct_bench', :user, 'Bench Contractor', '3000')"),
            {"user": contractor_id},
        )  # fmt: skip
        method = PayoutMethod(user_id=contractor_id, provider="sandbox", provider_account_id="sbacct_bench",
                              label="Bank account •••• 3000", ready=True)  # fmt: skip
        db.add(method)
        await db.flush()
        method_id = method.id
        first_entry = int(await db.scalar(text("SELECT coalesce(max(id), 0) + 1 FROM ledger_entries")))

    start = datetime.combine(day, datetime.min.time(), UTC)
    step = timedelta(seconds=(86_400 - 60) / UNITS)
    entries, postings, payments, refunds, payouts, sb_payouts, fundings = [], [], [], [], [], [], []
    entry_id = first_entry

    def entry(kind: str, reference: str, at: datetime, lines: list[tuple[str, int]]) -> None:
        nonlocal entry_id
        entries.append((entry_id, kind, reference, "", contract_id, None, None, at))
        postings.extend((entry_id, acct[name], amount, "EUR") for name, amount in lines)
        entry_id += 1

    for k in range(UNITS):
        at = start + step * k
        a = _amount(k)
        pid, pay_id = f"fund_b{k}", f"sbpay_b{k}"
        payments.append((pay_id, pid, client_id, a, "EUR", "", "/", "succeeded", 0, "", "4242", at, at))
        refunded = k % 4 == 0
        fundings.append((pid, contract_id, client_id, a, "EUR", "refunded" if refunded else "paid", "sandbox", pay_id,
                         None, "", at, at))  # fmt: skip
        entry("funding", f"funding:{pid}:{k}", at + timedelta(seconds=1), [("clearing", -a), ("escrow", a)])
        if refunded:
            key = f"refund:{pid}"
            refunds.append((f"sbre_b{k}", pay_id, a, key, at + timedelta(seconds=2)))
            entry("refund", key, at + timedelta(seconds=2), [("escrow", -a), ("refunds", a)])
            entry("refund_paid", f"refund_paid:{key}", at + timedelta(seconds=3), [("refunds", -a), ("clearing", a)])
        elif k % 4 in (1, 2):
            share, fee = a * 9 // 10, a // 10
            entry("release", f"release:bench:{k}", at + timedelta(seconds=2),
                  [("escrow", -a), ("payable", share), ("fees", fee)])  # fmt: skip
            if k % 4 == 1:
                po = f"po_b{k}"
                payouts.append((po, contractor_id, method_id, "sandbox", share, "EUR", "paid", False, f"sbpo_b{k}", "",
                                1, at, at, at))  # fmt: skip
                sb_payouts.append((f"sbpo_b{k}", "sbacct_bench", po, share, "EUR", "paid", f"payout:{po}", "",
                                   at + timedelta(seconds=4), at))  # fmt: skip
                entry("payout", f"payout:{po}", at + timedelta(seconds=3), [("payable", -share), ("transit", share)])
                entry("payout_paid", f"payout_paid:{po}", at + timedelta(seconds=5),
                      [("transit", -share), ("clearing", share)])  # fmt: skip

    async with sessions() as db, db.begin():
        await db.execute(text("SELECT 1"))  # the transaction begins: the raw statements below are inside it
        conn = await db.connection()
        raw = (await conn.get_raw_connection()).driver_connection
        # The per-row triggers (balance upkeep, zero-sum check) are off for the load; the balances
        # are set from the postings below, and `ledger verify` would find any slip.
        await raw.execute("ALTER TABLE ledger_postings DISABLE TRIGGER ledger_postings_apply")
        await raw.execute("ALTER TABLE ledger_postings DISABLE TRIGGER ledger_postings_balanced")
        await raw.execute("ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_balanced")
        await raw.copy_records_to_table("ledger_entries", records=entries, columns=[
            "id", "kind", "reference", "description", "contract_id", "milestone_id", "actor_id", "created_at"])  # fmt: skip
        await raw.copy_records_to_table("ledger_postings", records=postings,
                                        columns=["entry_id", "account_id", "amount_minor", "currency"])  # fmt: skip
        await raw.execute("ALTER TABLE ledger_postings ENABLE TRIGGER ledger_postings_apply")
        await raw.execute("ALTER TABLE ledger_postings ENABLE TRIGGER ledger_postings_balanced")
        await raw.execute("ALTER TABLE ledger_entries ENABLE TRIGGER ledger_entries_balanced")
        await raw.execute(
            "SELECT setval(pg_get_serial_sequence('ledger_entries', 'id'), (SELECT max(id) FROM ledger_entries))"
        )
        await raw.execute("ALTER TABLE ledger_accounts DISABLE TRIGGER ledger_accounts_guarded")
        await raw.execute(
            "UPDATE ledger_accounts a SET balance_minor = coalesce((SELECT sum(p.amount_minor) FROM ledger_postings p "
            "WHERE p.account_id = a.id), 0)"
        )
        await raw.execute("ALTER TABLE ledger_accounts ENABLE TRIGGER ledger_accounts_guarded")
        await raw.copy_records_to_table("sandbox_payments", records=payments, columns=[
            "id", "reference", "payer_user_id", "amount_minor", "currency", "description", "return_url", "status",
            "refunded_minor", "last_error", "card_last4", "created_at", "updated_at"])  # fmt: skip
        await raw.copy_records_to_table("escrow_fundings", records=fundings, columns=[
            "public_id", "contract_id", "client_id", "amount_minor", "currency", "status", "provider",
            "provider_payment_id", "checkout_url", "failure_message", "created_at", "decided_at"])  # fmt: skip
        await raw.copy_records_to_table("sandbox_refunds", records=refunds,
                                        columns=["id", "payment_id", "amount_minor", "idempotency_key", "created_at"])  # fmt: skip
        await raw.copy_records_to_table("payouts", records=payouts, columns=[
            "public_id", "user_id", "method_id", "provider", "amount_minor", "currency", "status", "automatic",
            "provider_payout_id", "failure_message", "attempts", "requested_at", "sent_at", "decided_at"])  # fmt: skip
        await raw.copy_records_to_table("sandbox_payouts", records=sb_payouts, columns=[
            "id", "account_id", "reference", "amount_minor", "currency", "status", "idempotency_key",
            "failure_message", "created_at", "updated_at"])  # fmt: skip
    async with sessions() as db, db.begin():
        await db.execute(text("ANALYZE"))
    return {"entries": len(entries), "postings": len(postings), "provider_records": len(payments) + len(refunds)
            + len(sb_payouts)}  # fmt: skip


async def _measure(env: dict[str, str]) -> dict[str, Any]:
    from sqlalchemy import func, select

    from app.config import load_settings
    from app.db import make_engine, make_sessionmaker
    from app.escrow.models import JournalEntry
    from app.escrow.totals import escrow_totals
    from app.payments.models import ReconciliationMismatch
    from app.payments.reconciliation import reconcile
    from app.payments.sandbox import SandboxProvider

    settings = load_settings(env)
    engine = make_engine(settings, pool_size=4)
    sessions = make_sessionmaker(engine)
    try:
        day = date.today() - timedelta(days=1)
        started = time.perf_counter()
        seeded = await _seed(sessions, settings, day)
        seed_seconds = time.perf_counter() - started
        async with sessions() as db:
            total_entries = await db.scalar(select(func.count()).select_from(JournalEntry))
        now = datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC) + timedelta(hours=2, minutes=30)
        started = time.perf_counter()
        run = await reconcile(sessions, SandboxProvider(sessions), day, now=now)
        run_seconds = time.perf_counter() - started
        async with sessions() as db:
            differences = (
                await db.scalars(select(ReconciliationMismatch).where(ReconciliationMismatch.run_id == run.id).limit(5))
            ).all()
        took = []
        for _ in range(TOTALS_RUNS):
            async with sessions() as db:
                began = time.perf_counter()
                totals = await escrow_totals(db)
                took.append(time.perf_counter() - began)
    finally:
        await engine.dispose()
    checked = sum(v for k, v in run.checked.items() if k in ("payments", "refunds", "payouts"))
    return {
        "journal_entries": total_entries,
        "seeded": seeded,
        "seed_seconds": seed_seconds,
        "status": str(run.status),
        "checked": run.checked,
        "run_seconds": run_seconds,
        "records_per_s": seeded["provider_records"] / run_seconds,
        "rows_checked_per_s": checked / run_seconds,
        "entries_per_s": total_entries / run_seconds,
        "differences": [f"{d.kind} {d.reference}: {d.ledger} / {d.provider_says}" for d in differences],
        "escrow_totals_ms_median": sorted(took)[len(took) // 2] * 1000,
        "escrow_totals": [(t.currency, t.accounts_minor, t.contracts_minor, t.equal) for t in totals],
    }


def measure(env: dict[str, str]) -> dict[str, Any]:
    from app.config import load_settings
    from app.platform.migrate import upgrade

    url = asyncio.run(_create_database(env))
    own = {**env, "DATABASE_URL": url}
    upgrade(load_settings(own))
    return asyncio.run(_measure(own))


def describe(result: dict[str, Any]) -> str:
    totals = ", ".join(
        f"{currency} {'equal' if equal else 'NOT EQUAL'}" for currency, _, _, equal in result["escrow_totals"]
    )
    lines = [
        f"reconciliation: one day over {result['journal_entries']} journal entries "
        f"({result['seeded']['provider_records']} provider records, seeded in {result['seed_seconds']:.1f} s): "
        f"{result['run_seconds']:.2f} s, {result['records_per_s']:.0f} provider records/s, "
        f"{result['entries_per_s']:.0f} journal entries/s; verdict {result['status']} "
        f"({', '.join(f'{n} {k}' for k, n in result['checked'].items())})",
        f"  money in escrow by currency (console overview): {result['escrow_totals_ms_median']:.1f} ms median of "
        f"{TOTALS_RUNS}; {totals}",
    ]
    lines += [f"    differs: {d}" for d in result["differences"]]
    return "\n".join(lines)
