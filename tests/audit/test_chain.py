"""The audit chain: contiguous seq under concurrent writers, append-only, tampering detected."""

import asyncio

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from app.audit.chain import GENESIS, append, verify
from app.audit.models import AuditEvent
from app.cli import main as cli


async def test_each_event_links_to_the_one_before(db):
    first = await append(
        db, "contract_signed", actor_id=1, subject_type="contract", subject_id="c1", data={"version": 2}
    )
    second = await append(
        db, "milestone_funded", subject_type="contract", subject_id="c1", data={"amount_minor": 150000}
    )
    await db.commit()
    assert (first.seq, first.prev_hash) == (1, GENESIS)
    assert (second.seq, second.prev_hash) == (2, first.hash)
    assert (await verify(db)).ok


async def test_eight_concurrent_writers_leave_no_gaps(app, db):
    async def writer(n: int) -> None:
        for i in range(15):
            async with app.state.sessionmaker() as session, session.begin():
                await append(session, "test_event", data={"writer": n, "i": i})

    await asyncio.gather(*(writer(n) for n in range(8)))
    seqs = (await db.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq))).all()
    assert seqs == list(range(1, 121))
    verdict = await verify(db)
    assert verdict.ok and verdict.checked == 120


async def test_a_rolled_back_append_leaves_no_gap(app, db):
    async with app.state.sessionmaker() as session:
        await append(session, "never_happened")
        await session.rollback()
    event = await append(db, "happened")
    await db.commit()
    assert event.seq == 1


async def test_rows_cannot_be_changed_or_deleted(db):
    await append(db, "contract_signed", data={"version": 1})
    await db.commit()
    for statement in ("UPDATE audit_events SET kind = 'x'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"):
            await db.execute(text(statement))
        await db.rollback()


async def test_tampering_is_found_at_the_changed_event(app, db):
    for n in range(5):
        await append(db, "milestone_funded", data={"amount_minor": 1000 * (n + 1)})
    await db.commit()
    async with app.state.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
        await conn.execute(text("""UPDATE audit_events SET data = '{"amount_minor": 999999}' WHERE seq = 3"""))
        await conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))
    verdict = await verify(db)
    assert not verdict.ok and verdict.broken_seq == 3 and verdict.checked == 2

    result = await asyncio.to_thread(CliRunner().invoke, cli, ["ledger", "verify"])  # the CLI runs its own loop
    assert result.exit_code == 1
    assert "BROKEN at seq 3" in result.output


async def test_a_removed_event_is_found_as_a_gap(app, db):
    for _ in range(4):
        await append(db, "signed_in")
    await db.commit()
    async with app.state.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
        await conn.execute(text("DELETE FROM audit_events WHERE seq = 2"))
        await conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))
    verdict = await verify(db)
    assert not verdict.ok and verdict.broken_seq == 2 and "missing" in verdict.reason


async def test_the_cli_says_intact_and_exits_zero(db):
    await append(db, "signed_in")
    await db.commit()
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["ledger", "verify"])
    assert result.exit_code == 0, result.output
    assert "Audit chain intact: 1 events" in result.output


async def test_a_bundle_checks_out_with_the_standalone_script_and_tampering_does_not(db, tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    from app.audit.chain import bundle

    await append(db, "contract_sent", subject_type="contract", subject_id="c9", data={"version_hash": "ab" * 32})
    await append(db, "signed_in", data={})  # another subject's event in between
    await append(db, "contract_signed", subject_type="contract", subject_id="c9", data={"name": "Zoë Müller"})
    await append(db, "contract_signed", subject_type="contract", subject_id="c9", data={"name": "Ana"})
    await db.commit()
    exported = await bundle(db, "contract", "c9")
    assert [e["seq"] for e in exported["events"]] == [1, 3, 4] and exported["chain_head"]["seq"] == 4
    script = Path(__file__).resolve().parents[2] / "docs" / "audit" / "verify_bundle.py"

    good = tmp_path / "good.json"
    good.write_text(json.dumps(exported, ensure_ascii=False))
    ok = subprocess.run([sys.executable, str(script), str(good)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "OK: 3 events verified" in ok.stdout

    exported["events"][1]["data"]["name"] = "Mallory"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(exported, ensure_ascii=False))
    broken = subprocess.run([sys.executable, str(script), str(bad)], capture_output=True, text=True)
    assert broken.returncode == 1 and "event 3 (contract_signed): content does not match its hash" in broken.stdout


async def test_account_events_go_on_the_chain_without_addresses(client, db):
    kinds = (await db.scalars(select(AuditEvent.kind).where(AuditEvent.subject_id == str(client.user.id)))).all()
    assert "signed_in" in kinds
    event = await db.scalar(select(AuditEvent).where(AuditEvent.kind == "signed_in"))
    assert event.subject_type == "user" and "ip" not in event.data
    assert (await verify(db)).ok
