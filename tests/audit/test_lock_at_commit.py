"""The chain's lock is taken at commit: slow work after an append holds up nobody else's append,
and many transactions at once still leave one gap-free chain in each transaction's order."""

import asyncio

from sqlalchemy import event, select, text

from app.accounts.audit import record_event
from app.accounts.models import Role
from app.audit.chain import append, as_json, verify
from app.audit.models import AuditEvent
from app.events import publish
from tests.support.factories import make_user


async def advisory_locks_held_by(app, session) -> int:
    """Advisory locks the session's backend holds now, seen from another connection."""
    pid = await session.scalar(text("SELECT pg_backend_pid()"))
    async with app.state.engine.connect() as conn:
        return await conn.scalar(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = :pid AND granted"), {"pid": pid}
        )


async def test_no_advisory_lock_is_held_after_append_returns(app, db):
    event = await append(db, "contract_signed", subject_type="contract", subject_id="c1", data={"version": 1})
    await append(db, "contract_activated", subject_type="contract", subject_id="c1", data={"version": 1})
    assert await advisory_locks_held_by(app, db) == 0
    assert event.seq is None  # staged: seq and hash are given at commit

    await db.commit()
    assert (event.seq, len(event.hash)) == (1, 64)
    assert (await db.scalars(select(AuditEvent.kind).order_by(AuditEvent.seq))).all() == [
        "contract_signed",
        "contract_activated",
    ]
    assert (await verify(db)).ok


async def test_slow_work_after_an_append_does_not_hold_up_another_transaction(app, db):
    appended, provider_answered = asyncio.Event(), asyncio.Event()
    slow_committed = False

    async def slow_verb() -> None:
        nonlocal slow_committed
        async with app.state.sessionmaker() as session:
            await append(session, "milestone_funded", data={"amount_minor": 5000})
            appended.set()
            await asyncio.wait_for(provider_answered.wait(), timeout=30)  # a slow provider call
            await session.commit()
            slow_committed = True

    async def quick_verb() -> None:
        await appended.wait()
        async with app.state.sessionmaker() as session:
            await append(session, "signed_in", actor_id=7)
            await session.commit()

    slow, quick = asyncio.create_task(slow_verb()), asyncio.create_task(quick_verb())
    try:
        # The slow call only answers after this wait: a held lock makes it time out.
        done, _ = await asyncio.wait({quick}, timeout=10)
        slow_still_open = not slow.done() and not slow_committed
    finally:
        provider_answered.set()
        await asyncio.gather(slow, quick)

    assert quick in done, "the second transaction waited for the first one's slow call"
    assert slow_still_open
    rows = (await db.execute(select(AuditEvent.seq, AuditEvent.kind).order_by(AuditEvent.seq))).all()
    assert [tuple(r) for r in rows] == [(1, "signed_in"), (2, "milestone_funded")]
    assert (await verify(db)).ok


async def test_parallel_transactions_overlap_and_leave_a_gap_free_chain_in_their_own_order(app, db):
    writers, per_writer = 8, 3
    # Every transaction appends, then waits until all the others have appended too: with a lock
    # held from the first append on, the second writer could never get there and this times out.
    all_appended = asyncio.Barrier(writers)

    async def verb(n: int) -> None:
        async with app.state.sessionmaker() as session, session.begin():
            for i in range(per_writer):
                await append(session, "test_event", subject_type="writer", subject_id=n, data={"writer": n, "i": i})
                await asyncio.sleep(0)  # network work between the appends
            await asyncio.wait_for(all_appended.wait(), timeout=10)

    await asyncio.gather(*(verb(n) for n in range(writers)))

    rows = (await db.scalars(select(AuditEvent).order_by(AuditEvent.seq))).all()
    assert [r.seq for r in rows] == list(range(1, writers * per_writer + 1))
    for n in range(writers):
        mine = [r for r in rows if r.subject_id == str(n)]
        # One transaction's events sit together in the chain, in the order they were appended.
        assert [r.data["i"] for r in mine] == list(range(per_writer))
        assert [r.seq for r in mine] == list(range(mine[0].seq, mine[0].seq + per_writer))
    verdict = await verify(db)
    assert verdict.ok and verdict.checked == writers * per_writer


async def test_the_lock_comes_after_every_other_write_and_just_before_commit(app, db):
    user = await make_user(db, role=Role.contractor)
    statements: list[str] = []
    async with app.state.sessionmaker() as session:
        connection = (await session.connection()).sync_connection

        def executed(conn, cursor, statement, parameters, context, executemany):
            if conn is connection:
                statements.append(statement)

        def committed(conn):
            if conn is connection:
                statements.append("COMMIT")

        engine = app.state.engine.sync_engine
        event.listen(engine, "before_cursor_execute", executed)
        event.listen(engine, "commit", committed)
        try:
            await record_event(session, "profile_updated", user_id=user.id)  # account_events + chain
            publish(session, user.id, "profile-saved", {"user_id": user.id})  # an outbox row
            await session.commit()
        finally:
            event.remove(engine, "before_cursor_execute", executed)
            event.remove(engine, "commit", committed)

    locked = next(i for i, s in enumerate(statements) if "pg_advisory_xact_lock" in s)
    before, after = statements[:locked], statements[locked + 1 :]
    assert any("INSERT INTO account_events" in s for s in before)
    assert any("INSERT INTO outbox_events" in s for s in before)
    assert len(after) == 3, after
    assert after[0].startswith("SELECT audit_events.seq, audit_events.hash")
    assert after[1].startswith("INSERT INTO audit_events")
    assert after[2] == "COMMIT"


async def test_an_event_appended_in_a_rolled_back_savepoint_is_dropped(db):
    await append(db, "kept_before")
    try:
        async with db.begin_nested():
            await append(db, "dropped")
            raise RuntimeError("the savepoint's work failed")
    except RuntimeError:
        pass
    await append(db, "kept_after")
    await db.commit()
    kinds = (await db.scalars(select(AuditEvent.kind).order_by(AuditEvent.seq))).all()
    assert kinds == ["kept_before", "kept_after"]
    assert (await verify(db)).ok


async def test_releasing_a_savepoint_does_not_take_the_lock(app, db):
    await append(db, "before_savepoint")
    async with db.begin_nested():
        await append(db, "inside_savepoint")
    assert await advisory_locks_held_by(app, db) == 0
    await append(db, "after_savepoint")
    await db.commit()
    kinds = (await db.scalars(select(AuditEvent.kind).order_by(AuditEvent.seq))).all()
    assert kinds == ["before_savepoint", "inside_savepoint", "after_savepoint"]
    assert (await verify(db)).ok


async def test_committing_with_a_savepoint_still_open_writes_its_events(app, db):
    async with app.state.sessionmaker() as session:
        async with session.begin():
            await append(session, "outside")
            await session.begin_nested()  # never closed: the outer commit releases it
            await append(session, "inside")
    kinds = (await db.scalars(select(AuditEvent.kind).order_by(AuditEvent.seq))).all()
    assert kinds == ["outside", "inside"]
    assert (await verify(db)).ok


async def test_a_transaction_without_events_takes_no_lock(app, db):
    statements: list[str] = []

    def executed(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", executed)
    try:
        await make_user(db, role=Role.client)
    finally:
        event.remove(engine, "before_cursor_execute", executed)
    assert not any("pg_advisory_xact_lock" in s for s in statements)


async def test_a_chain_written_before_this_change_goes_on_with_the_same_hash_rule(db):
    """Rows hashed by the standalone checker's own code (as the earlier writer stored them) are
    continued: the staged writer links to them and hashes the same way."""
    import importlib.util
    from datetime import UTC, datetime
    from pathlib import Path

    from sqlalchemy import insert

    from app.audit.models import GENESIS

    path = Path(__file__).resolve().parents[2] / "docs" / "audit" / "verify_bundle.py"
    spec = importlib.util.spec_from_file_location("verify_bundle", path)
    checker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(checker)

    prev, rows = GENESIS, []
    for seq, name in ((1, "Zoë Müller"), (2, "Ana")):
        at = datetime(2026, 1, 2, 3, 4, 5, 600_000 + seq, tzinfo=UTC)
        body = {"seq": seq, "occurred_at": at.isoformat(timespec="microseconds"), "kind": "contract_signed",
                "actor_id": seq, "subject_type": "contract", "subject_id": "c1", "data": {"name": name}}  # fmt: skip
        digest = checker.event_hash({**body, "prev_hash": prev})
        rows.append({**body, "occurred_at": at, "prev_hash": prev, "hash": digest})
        prev = digest
    await db.execute(insert(AuditEvent), rows)
    await db.commit()

    event = await append(db, "contract_activated", subject_type="contract", subject_id="c1", data={"version": 1})
    await db.commit()
    assert (event.seq, event.prev_hash) == (3, rows[-1]["hash"])
    assert checker.event_hash(as_json(event)) == event.hash
    verdict = await verify(db)
    assert verdict.ok and verdict.checked == 3
