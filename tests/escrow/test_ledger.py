"""The double-entry ledger: balanced entries post and balance, and the database itself refuses
what does not add up, an escrow below zero, and any change to what was posted."""

import asyncio
import random

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.audit.chain import verify as verify_chain
from app.audit.models import AuditEvent
from app.errors import DomainError
from app.escrow import ledger
from app.escrow.models import AccountKind, EntryKind, JournalEntry, Posting
from app.money import Money


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


async def fund(db, books, minor: int, reference: str):
    """Money the client paid through the provider, held in the contract's escrow."""
    return await ledger.post_entry(
        db,
        EntryKind.funding,
        [(books.clearing, eur(-minor)), (books.escrow, eur(minor))],
        reference=reference,
        contract_id=books.contract.id,
        milestone_id=books.milestones[0].id,
        description="Milestone funded",
    )


async def test_a_balanced_entry_commits_and_moves_the_balances(db, books):
    await fund(db, books, 100_000, "funding:1")
    entry = await ledger.post_entry(
        db,
        EntryKind.release,
        [(books.escrow, eur(-100_000)), (books.payable, eur(90_000)), (books.fees, eur(10_000))],
        reference="release:1",
        contract_id=books.contract.id,
        milestone_id=books.milestones[0].id,
    )
    await db.commit()
    assert entry.id and entry.kind == EntryKind.release
    assert await ledger.escrow_balance(db, books.contract.id, "EUR") == eur(0)
    assert await ledger.balance(db, books.payable) == eur(90_000)
    assert await ledger.balance(db, books.fees) == eur(10_000)
    assert await ledger.balance(db, books.clearing) == eur(-100_000)
    # The maintained column agrees with the postings, account by account.
    for account in (books.clearing, books.escrow, books.payable, books.fees):
        await db.refresh(account)
        assert account.balance_minor == (await ledger.balance(db, account)).amount_minor
    assert (await ledger.verify(db)).ok


async def test_an_account_is_made_once_even_by_two_transactions_at_once(app, db, books):
    async def get(n: int):
        async with app.state.sessionmaker() as session, session.begin():
            return (await ledger.account(session, AccountKind.escrow, "GBP", contract_id=books.contract.id)).id

    ids = await asyncio.gather(*(get(n) for n in range(6)))
    assert len(set(ids)) == 1
    with pytest.raises(ValueError, match="has a contract"):
        await ledger.account(db, AccountKind.escrow, "EUR")
    with pytest.raises(ValueError, match="has no owner"):
        await ledger.account(db, AccountKind.platform_fees, "EUR", user_id=books.contract.client_id)


async def test_python_refuses_unbalanced_and_mixed_currency_lines_with_a_message(db, books):
    with pytest.raises(DomainError, match="do not balance: they sum to €0.01 in EUR"):
        await ledger.post_entry(
            db, EntryKind.funding, [(books.clearing, eur(-100)), (books.escrow, eur(101))], reference="r"
        )
    with pytest.raises(DomainError, match="in USD cannot go to escrow of contract .* kept in EUR"):
        await ledger.post_entry(
            db, EntryKind.funding, [(books.clearing, eur(-100)), (books.escrow, Money(100, "USD"))], reference="r"
        )
    with pytest.raises(DomainError, match="at least two postings"):
        await ledger.post_entry(db, EntryKind.funding, [(books.escrow, eur(0))], reference="r")
    with pytest.raises(DomainError, match="reference"):
        await ledger.post_entry(
            db, EntryKind.funding, [(books.clearing, eur(-1)), (books.escrow, eur(1))], reference="x" * 256
        )
    await db.commit()
    assert await db.scalar(select(func.count()).select_from(JournalEntry)) == 0


async def test_the_database_refuses_an_unbalanced_entry_at_commit(db, books):
    """The Python check bypassed: rows written straight to the tables. The deferred trigger
    lets the statements through and refuses the transaction at COMMIT."""
    entry = JournalEntry(kind=EntryKind.funding, reference="bypass", description="")
    db.add(entry)
    await db.flush()
    db.add_all(
        [
            Posting(entry_id=entry.id, account_id=books.clearing.id, amount_minor=-100, currency="EUR"),
            Posting(entry_id=entry.id, account_id=books.escrow.id, amount_minor=99, currency="EUR"),
        ]
    )
    await db.flush()  # no complaint yet: the check waits for the commit
    with pytest.raises(IntegrityError, match="does not balance: its EUR postings sum to -1"):
        await db.commit()
    await db.rollback()
    assert await db.scalar(select(func.count()).select_from(JournalEntry)) == 0


async def test_the_database_refuses_an_entry_without_postings(db):
    db.add(JournalEntry(kind=EntryKind.funding, reference="empty", description=""))
    with pytest.raises(IntegrityError, match="has 0 posting"):
        await db.commit()


async def test_the_database_refuses_a_posting_in_another_currency_than_its_account(db, books):
    entry = JournalEntry(kind=EntryKind.funding, reference="usd-into-eur", description="")
    db.add(entry)
    await db.flush()
    db.add(Posting(entry_id=entry.id, account_id=books.escrow.id, amount_minor=100, currency="USD"))
    with pytest.raises(DBAPIError, match="in USD to account .* kept in EUR"):
        await db.flush()


async def test_two_currencies_in_one_entry_each_must_sum_to_zero(db, books):
    usd_clearing = await ledger.account(db, AccountKind.provider_clearing, "USD")
    usd_escrow = await ledger.account(db, AccountKind.escrow, "USD", contract_id=books.contract.id)
    await ledger.post_entry(
        db,
        EntryKind.funding,
        [
            (books.clearing, eur(-500)),
            (books.escrow, eur(500)),
            (usd_clearing, Money(-700, "USD")),
            (usd_escrow, Money(700, "USD")),
        ],
        reference="two-currencies",
    )
    await db.commit()
    assert await ledger.escrow_balance(db, books.contract.id, "USD") == Money(700, "USD")
    assert await ledger.escrow_balance(db, books.contract.id, "EUR") == eur(500)

    # Each currency on its own: EUR balances, USD does not (and the totals together are zero).
    with pytest.raises(DomainError, match=r"they sum to -€0.50 in EUR, \$0.50 in USD, not zero"):
        await ledger.post_entry(
            db,
            EntryKind.funding,
            [(books.clearing, eur(-550)), (books.escrow, eur(500)), (usd_clearing, Money(-50, "USD")), (usd_escrow, Money(100, "USD"))],
            reference="cross",
        )  # fmt: skip
    entry = JournalEntry(kind=EntryKind.funding, reference="cross", description="")
    db.add(entry)
    await db.flush()
    db.add_all(
        [
            Posting(entry_id=entry.id, account_id=books.clearing.id, amount_minor=-100, currency="EUR"),
            Posting(entry_id=entry.id, account_id=usd_escrow.id, amount_minor=100, currency="USD"),
        ]
    )
    with pytest.raises(IntegrityError, match="does not balance: its (EUR|USD) postings"):
        await db.commit()


async def test_the_database_refuses_an_escrow_below_zero(db, books):
    contract_id = books.contract.id
    await fund(db, books, 1_000, "funding:1")
    await db.commit()
    with pytest.raises(DomainError, match=r"holds €10.00: it cannot pay out €10.01"):
        await ledger.post_entry(
            db, EntryKind.release, [(books.escrow, eur(-1_001)), (books.payable, eur(1_001))], reference="too-much"
        )
    # The same move written past the service: the CHECK on the maintained balance refuses it.
    entry = JournalEntry(kind=EntryKind.release, reference="too-much", description="")
    db.add(entry)
    await db.flush()
    db.add_all(
        [
            Posting(entry_id=entry.id, account_id=books.escrow.id, amount_minor=-1_001, currency="EUR"),
            Posting(entry_id=entry.id, account_id=books.payable.id, amount_minor=1_001, currency="EUR"),
        ]
    )
    with pytest.raises(IntegrityError, match="ck_ledger_accounts_owed_not_negative"):
        await db.flush()
    await db.rollback()
    assert await ledger.escrow_balance(db, contract_id, "EUR") == eur(1_000)


async def test_postings_entries_and_balances_cannot_be_changed_or_deleted(db, books):
    await fund(db, books, 1_000, "funding:1")
    await db.commit()
    for statement in (
        "UPDATE ledger_postings SET amount_minor = 5",
        "DELETE FROM ledger_postings",
        "UPDATE ledger_entries SET reference = 'other'",
        "DELETE FROM ledger_entries",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            await db.execute(text(statement))
        await db.rollback()
    for statement, said in (
        ("UPDATE ledger_accounts SET balance_minor = 1", "kept by postings"),
        ("UPDATE ledger_accounts SET currency = 'USD'", "cannot change"),
        ("DELETE FROM ledger_accounts", "cannot be deleted"),
    ):
        with pytest.raises(DBAPIError, match=said):
            await db.execute(text(statement))
        await db.rollback()


async def test_the_same_reference_posts_once(db, books):
    first = await fund(db, books, 1_000, "webhook:evt_1")
    await db.commit()
    again = await fund(db, books, 1_000, "webhook:evt_1")
    await db.commit()
    assert again.id == first.id
    assert await ledger.escrow_balance(db, books.contract.id, "EUR") == eur(1_000)
    with pytest.raises(DomainError, match="already used for a different money move"):
        await fund(db, books, 2_000, "webhook:evt_1")
    assert await db.scalar(select(func.count()).select_from(JournalEntry)) == 1
    assert await db.scalar(select(func.count()).where(AuditEvent.kind == ledger.AUDIT_KIND)) == 1


async def test_two_transactions_posting_one_reference_at_once_post_one_entry(app, db, books):
    gate = asyncio.Event()

    async def post():
        async with app.state.sessionmaker() as session, session.begin():
            await gate.wait()
            return (await fund(session, books, 1_000, "webhook:evt_race")).id

    tasks = [asyncio.create_task(post()) for _ in range(2)]
    await asyncio.sleep(0.05)
    gate.set()
    ids = await asyncio.gather(*tasks)
    assert ids[0] == ids[1]
    assert await db.scalar(select(func.count()).select_from(JournalEntry)) == 1
    assert await ledger.escrow_balance(db, books.contract.id, "EUR") == eur(1_000)
    assert (await ledger.verify(db)).ok


async def test_twenty_parallel_withdrawals_of_ten_from_a_hundred_leave_exactly_ten(app, db, books):
    await fund(db, books, 100, "funding:1")
    await db.commit()
    gate = asyncio.Event()

    async def withdraw(n: int) -> bool:
        async with app.state.sessionmaker() as session:
            await gate.wait()
            try:
                await ledger.post_entry(
                    session,
                    EntryKind.release,
                    [(books.escrow, eur(-10)), (books.payable, eur(10))],
                    reference=f"release:{n}",
                )
                await session.commit()
            except DomainError:
                await session.rollback()
                return False
            return True

    tasks = [asyncio.create_task(withdraw(n)) for n in range(20)]
    await asyncio.sleep(0.05)
    gate.set()
    done = await asyncio.gather(*tasks)
    assert sum(done) == 10
    assert await ledger.escrow_balance(db, books.contract.id, "EUR") == eur(0)
    assert await db.scalar(select(func.count()).select_from(JournalEntry)) == 11
    assert (await ledger.verify(db)).ok


async def test_parallel_raw_withdrawals_are_held_by_the_check_alone(app, db, books):
    """Without the service's lock and check: the trigger's UPDATE waits on the account row and
    the CHECK refuses whatever would go below zero."""
    await fund(db, books, 100, "funding:1")
    await db.commit()
    gate = asyncio.Event()

    async def withdraw(n: int) -> bool:
        async with app.state.sessionmaker() as session:
            await gate.wait()
            entry = JournalEntry(kind=EntryKind.release, reference=f"raw:{n}", description="")
            session.add(entry)
            try:
                await session.flush()
                session.add_all(
                    [
                        Posting(entry_id=entry.id, account_id=books.payable.id, amount_minor=30, currency="EUR"),
                        Posting(entry_id=entry.id, account_id=books.escrow.id, amount_minor=-30, currency="EUR"),
                    ]
                )
                await session.commit()
            except IntegrityError:
                await session.rollback()
                return False
            return True

    tasks = [asyncio.create_task(withdraw(n)) for n in range(8)]
    await asyncio.sleep(0.05)
    gate.set()
    assert sum(await asyncio.gather(*tasks)) == 3
    assert await ledger.escrow_balance(db, books.contract.id, "EUR") == eur(10)


async def test_each_entry_is_on_the_audit_chain_and_the_chain_verifies(db, books):
    funding = await fund(db, books, 100_000, "funding:1")
    release = await ledger.post_entry(
        db,
        EntryKind.release,
        [(books.escrow, eur(-100_000)), (books.payable, eur(90_000)), (books.fees, eur(10_000))],
        reference="release:1",
        actor_id=books.contract.client_id,
        contract_id=books.contract.id,
    )
    loose = await ledger.post_entry(
        db, EntryKind.payout, [(books.payable, eur(-90_000)), (books.clearing, eur(90_000))], reference="payout:1"
    )
    await db.commit()
    events = list(
        await db.scalars(select(AuditEvent).where(AuditEvent.kind == ledger.AUDIT_KIND).order_by(AuditEvent.seq))
    )
    assert [e.data["entry_id"] for e in events] == [funding.id, release.id, loose.id]
    assert events[1].actor_id == books.contract.client_id
    assert (events[1].subject_type, events[1].subject_id) == ("contract", books.contract.public_id)
    assert (events[2].subject_type, events[2].subject_id) == ("ledger_entry", str(loose.id))
    assert events[1].data["kind"] == "release" and events[1].data["reference"] == "release:1"
    assert events[1].data["postings"] == [
        {"account_id": a.id, "account_kind": str(a.kind), "amount_minor": m, "currency": "EUR"}
        for a, m in sorted(
            [(books.escrow, -100_000), (books.payable, 90_000), (books.fees, 10_000)], key=lambda x: x[0].id
        )
    ]
    assert (await verify_chain(db)).ok


async def test_a_refused_entry_leaves_no_audit_event(db, books):
    with pytest.raises(DomainError):
        await ledger.post_entry(
            db, EntryKind.release, [(books.escrow, eur(-1)), (books.payable, eur(1))], reference="r"
        )
    await db.commit()
    assert await db.scalar(select(func.count()).where(AuditEvent.kind == ledger.AUDIT_KIND)) == 0
    assert await db.scalar(select(func.count()).select_from(JournalEntry)) == 0


async def test_entries_crossing_the_same_accounts_in_opposite_directions_do_not_deadlock(app, db, books):
    """Accounts are locked and posted to in id order, whatever order the lines come in."""
    gate = asyncio.Event()

    async def move(n: int) -> None:
        lines = [(books.clearing, eur(-7)), (books.fees, eur(7))]
        async with app.state.sessionmaker() as session, session.begin():
            await gate.wait()
            await ledger.post_entry(session, EntryKind.payout, lines if n % 2 else lines[::-1], reference=f"cross:{n}")
            await asyncio.sleep(0.01)  # hold the locks a moment: crosswise waits would show

    tasks = [asyncio.create_task(move(n)) for n in range(10)]
    await asyncio.sleep(0.05)
    gate.set()
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)
    assert await ledger.balance(db, books.clearing) == eur(-70)
    assert (await ledger.verify(db)).ok


async def test_random_moves_keep_every_balance_equal_to_its_postings(db, books):
    """300 seeded random entries over all six accounts, some of them taking more from escrow or
    from a contractor's payable than it holds (refused): after each one the columns equal the postings, in SQL."""
    rng = random.Random(14)
    accounts = [books.clearing, books.funding, books.escrow, books.payable, books.fees, books.refunds]
    posted = refused = 0
    for n in range(300):
        source, target = rng.sample(accounts, 2)
        amount = rng.randint(1, 5_000)
        try:
            await ledger.post_entry(
                db, EntryKind.settlement, [(source, eur(-amount)), (target, eur(amount))], reference=f"random:{n}"
            )
            await db.commit()
            posted += 1
        except DomainError:
            assert source in (books.escrow, books.payable)  # the two that are never below zero
            await db.commit()  # the refusal left nothing behind: the transaction goes on
            refused += 1
        drift = await db.scalar(
            text(
                "SELECT count(*) FROM ledger_accounts a WHERE a.balance_minor <> "
                "(SELECT coalesce(sum(amount_minor), 0) FROM ledger_postings p WHERE p.account_id = a.id) "
                "OR (a.kind IN ('escrow', 'contractor_payable') AND a.balance_minor < 0)"
            )
        )
        assert drift == 0, f"after step {n}"
    assert posted > 200 and refused > 0
    verdict = await ledger.verify(db)
    assert verdict.ok and verdict.entries == posted
