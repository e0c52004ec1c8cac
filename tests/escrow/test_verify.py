"""`pactline ledger verify` checks the money too: zero sums, balances, escrow, the chain."""

import asyncio

from click.testing import CliRunner
from sqlalchemy import text

from app.audit.chain import append
from app.cli import main as cli
from app.escrow import ledger
from app.escrow.models import EntryKind
from app.money import Money


async def post_three(db, books):
    entries = []
    for n in range(3):
        entries.append(
            await ledger.post_entry(
                db,
                EntryKind.funding,
                [(books.clearing, Money(-1_000, "EUR")), (books.escrow, Money(1_000, "EUR"))],
                reference=f"funding:{n}",
                contract_id=books.contract.id,
            )
        )
    await db.commit()
    return entries


async def unbalance(app, entry, acct) -> None:
    """Add a €0.05 posting to a committed entry behind the zero-sum trigger's back."""
    async with app.state.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE ledger_postings DISABLE TRIGGER ledger_postings_balanced"))
        await conn.execute(
            text(
                "INSERT INTO ledger_postings (entry_id, account_id, amount_minor, currency) "
                "VALUES (:entry, :account, 5, 'EUR')"
            ),
            {"entry": entry.id, "account": acct.id},
        )
        await conn.execute(text("ALTER TABLE ledger_postings ENABLE TRIGGER ledger_postings_balanced"))


async def run_verify():
    return await asyncio.to_thread(CliRunner().invoke, cli, ["ledger", "verify"])


async def test_the_cli_counts_the_entries_it_checked(db, books):
    await post_three(db, books)
    result = await run_verify()
    assert result.exit_code == 0, result.output
    assert "Audit chain intact" in result.output
    assert "Money ledger intact: 3 journal entries checked" in result.output
    assert "6 accounts match their postings" in result.output


async def test_an_entry_broken_behind_the_triggers_back_is_named(app, db, books):
    entries = await post_three(db, books)
    await unbalance(app, entries[1], books.fees)
    verdict = await ledger.verify(db)
    assert not verdict.ok and verdict.broken_entry_id == entries[1].id
    assert "EUR postings sum to €0.05, not zero" in verdict.reason

    result = await run_verify()
    assert result.exit_code == 1
    assert "Audit chain intact" in result.output  # the chain is fine; the money is not
    assert f"Money ledger BROKEN at journal entry {entries[1].id}: its EUR postings sum to €0.05" in result.output
    assert "3 journal entries checked" in result.output


async def test_a_balance_column_changed_behind_the_triggers_back_is_named(app, db, books):
    entries = await post_three(db, books)
    async with app.state.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE ledger_accounts DISABLE TRIGGER ledger_accounts_guarded"))
        await conn.execute(
            text("UPDATE ledger_accounts SET balance_minor = 5000 WHERE id = :id"), {"id": books.escrow.id}
        )
        await conn.execute(text("ALTER TABLE ledger_accounts ENABLE TRIGGER ledger_accounts_guarded"))
    verdict = await ledger.verify(db)
    assert not verdict.ok and verdict.broken_account_id == books.escrow.id
    assert verdict.broken_entry_id == entries[-1].id
    assert "balance column says €50.00 but its postings sum to €30.00" in verdict.reason
    result = await run_verify()
    assert result.exit_code == 1 and f"account {books.escrow.id} (escrow)" in result.output


async def test_an_escrow_below_zero_written_past_the_check_is_found(app, db, books):
    await post_three(db, books)
    async with app.state.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE ledger_accounts DROP CONSTRAINT ck_ledger_accounts_owed_not_negative"))
        entry = await conn.scalar(
            text("INSERT INTO ledger_entries (kind, reference, description) VALUES ('release', 'x', '') RETURNING id")
        )
        await conn.execute(
            text(
                "INSERT INTO ledger_postings (entry_id, account_id, amount_minor, currency) VALUES "
                "(:e, :escrow, -4000, 'EUR'), (:e, :payable, 4000, 'EUR')"
            ),
            {"e": entry, "escrow": books.escrow.id, "payable": books.payable.id},
        )
    try:
        verdict = await ledger.verify(db)
        assert not verdict.ok and verdict.broken_entry_id == entry and verdict.reason == "it is not on the audit chain"
        await append(db, ledger.AUDIT_KIND, data={"entry_id": entry, "reference": "x"})
        await db.commit()
        verdict = await ledger.verify(db)
        assert not verdict.ok and verdict.broken_account_id == books.escrow.id
        assert verdict.reason == f"account {books.escrow.id} (escrow): it is below zero (-€10.00)"
        result = await run_verify()
        assert result.exit_code == 1 and f"BROKEN at journal entry {entry}: account {books.escrow.id}" in result.output
    finally:
        await db.rollback()  # its reads would hold up the TRUNCATE
        async with app.state.engine.begin() as conn:
            await conn.execute(text("TRUNCATE ledger_postings, ledger_entries, ledger_accounts CASCADE"))
            await conn.execute(
                text(
                    "ALTER TABLE ledger_accounts ADD CONSTRAINT ck_ledger_accounts_owed_not_negative "
                    "CHECK (kind NOT IN ('escrow', 'contractor_payable', 'payouts_in_transit') OR balance_minor >= 0)"
                )
            )
