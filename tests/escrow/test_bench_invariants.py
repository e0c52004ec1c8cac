"""The SQL checks `make bench` reports as "violations" after its release race: quiet on books the
verbs wrote, and each finds the breach it names when the books are changed behind the verbs'
back (a check that cannot fail would make "violations: 0" mean nothing)."""

from sqlalchemy import select, text

from app.accounts.models import Role
from app.contracts.models import Milestone, MilestoneStatus
from app.escrow import lifecycle
from app.escrow.models import Account, AccountKind, JournalEntry
from bench.escrow import INVARIANTS
from tests.contracts.helpers import active_contract
from tests.escrow.test_lifecycle import fund
from tests.escrow.test_verify import unbalance
from tests.support.factories import make_user

ZERO_SUMS, BALANCES, NEVER_NEGATIVE, HELD, ONE_RELEASE, NO_STRAY_RELEASE = INVARIANTS


async def violations(db) -> dict[str, int]:
    await db.rollback()  # a fresh snapshot: the breaches are committed by other connections
    return {name: int(await db.scalar(text(sql))) for name, sql in INVARIANTS.items()}


async def released_and_held(db):
    """One milestone released by the client's approval, the other funded and held."""
    client = await make_user(db, role=Role.client)
    contractor = await make_user(db, role=Role.contractor)
    contract, _ = await active_contract(db, client, contractor)
    design, build = (
        await db.scalars(select(Milestone).where(Milestone.contract_id == contract.id).order_by(Milestone.position))
    ).all()
    await fund(db, contract, client, design)
    await fund(db, contract, client, build)
    await lifecycle.submit(db, design.id, contractor, "Done.")
    await db.commit()
    await lifecycle.approve(db, design.id, client)
    await db.commit()
    return contract, design, build


async def test_quiet_on_books_the_verbs_wrote(db):
    await released_and_held(db)
    assert set((await violations(db)).values()) == {0}


async def test_an_unbalanced_entry_is_counted(app, db):
    contract, design, _ = await released_and_held(db)
    entry = await db.scalar(select(JournalEntry).where(JournalEntry.milestone_id == design.id).limit(1))
    escrow = await db.scalar(select(Account).where(Account.kind == AccountKind.escrow))
    await unbalance(app, entry, escrow)
    found = await violations(db)
    assert found[ZERO_SUMS] == 1


async def test_a_milestone_marked_released_without_its_entry_is_counted(app, db):
    _, _, build = await released_and_held(db)
    async with app.state.engine.begin() as conn:  # a status written past the verbs
        await conn.execute(text("UPDATE contract_milestones SET status = 'released' WHERE id = :id"), {"id": build.id})
    found = await violations(db)
    assert found[HELD] == 1 and found[ONE_RELEASE] == 1
    assert found[ZERO_SUMS] == found[NO_STRAY_RELEASE] == 0


async def test_a_release_entry_of_a_milestone_that_is_not_released_is_counted(app, db):
    _, design, _ = await released_and_held(db)
    async with app.state.engine.begin() as conn:
        await conn.execute(
            text("UPDATE contract_milestones SET status = :s WHERE id = :id"),
            {"s": MilestoneStatus.submitted.value, "id": design.id},
        )
    found = await violations(db)
    assert found[NO_STRAY_RELEASE] == 1 and found[HELD] == 1


async def test_an_escrow_that_went_below_zero_on_the_way_is_counted(app, db):
    await released_and_held(db)
    release = await db.scalar(select(JournalEntry).where(JournalEntry.kind == "release"))
    escrow = await db.scalar(select(Account).where(Account.kind == AccountKind.escrow))
    async with app.state.engine.begin() as conn:  # out and back in within one entry: nets to zero
        await conn.execute(text("ALTER TABLE ledger_postings DISABLE TRIGGER USER"))
        for amount in (-1_000_000, 1_000_000):
            await conn.execute(
                text(
                    "INSERT INTO ledger_postings (entry_id, account_id, amount_minor, currency) "
                    "VALUES (:entry, :account, :amount, 'EUR')"
                ),
                {"entry": release.id, "account": escrow.id, "amount": amount},
            )
        await conn.execute(text("ALTER TABLE ledger_postings ENABLE TRIGGER USER"))
    found = await violations(db)
    assert found[NEVER_NEGATIVE] == 1
    assert found[ZERO_SUMS] == found[BALANCES] == found[HELD] == 0
