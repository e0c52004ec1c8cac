"""Gap-free numbers per issuer and year, under concurrency: many transactions issuing for the same
issuers at once, some rolled back after their number was taken, commit exactly 1..N with no gap
and no repeat; a new year starts at 1; releases and fundings racing on the real verbs all commit."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from app.accounts.models import Role
from app.db import utcnow
from app.escrow import funding, lifecycle
from app.escrow.ledger import account, post_entry
from app.escrow.models import AccountKind, EntryKind
from app.invoices import numbering
from app.invoices.models import DocumentKind, Invoice, InvoiceSequence
from app.invoices.services import new_public_id
from app.money import Money
from tests.contracts.helpers import active_contract
from tests.invoices.helpers import documents, funded, milestones_of, paid
from tests.support.factories import make_user

YEAR = utcnow().year
ROUNDS, AT_ONCE = 3, 12  # 36 transactions; each round's twelve are open at the same moment


async def entries_to_document(db, contract, count: int) -> list[int]:
    """`count` ledger entries on the contract (a cent each into its escrow), each one a document's entry."""
    clearing = await account(db, AccountKind.provider_clearing, "EUR")
    escrow = await account(db, AccountKind.escrow, "EUR", contract_id=contract.id)
    ids = []
    for n in range(count):
        entry = await post_entry(db, EntryKind.funding, [(clearing, Money(-1, "EUR")), (escrow, Money(1, "EUR"))],
                                 reference=f"numbering-test:{n}", contract_id=contract.id)  # fmt: skip
        ids.append(entry.id)
    await db.commit()
    return ids


def document(contract, entry_id: int, issuer_key: str, kind: DocumentKind, recipient_id: int) -> Invoice:
    issuer_user_id = int(issuer_key.split(":")[1]) if issuer_key.startswith("user:") else None
    return Invoice(public_id=new_public_id(), kind=kind, issuer_key=issuer_key, issuer_user_id=issuer_user_id,
                   recipient_user_id=recipient_id, contract_id=contract.id, entry_id=entry_id, currency="EUR",
                   total_minor=1, lines=[{"description": "A cent", "amount_minor": 1}], issuer={}, recipient={})  # fmt: skip


def assert_gap_free(rows: list[tuple[str, int, int, str]]) -> dict[tuple[str, int], int]:
    """rows: (issuer_key, year, sequence, number). Each issuer's year is exactly 1..N; returns N per issuer-year."""
    per: dict[tuple[str, int], list[int]] = {}
    for issuer_key, year, sequence, _ in rows:
        per.setdefault((issuer_key, year), []).append(sequence)
    for key, sequences in per.items():
        assert sorted(sequences) == list(range(1, len(sequences) + 1)), f"{key}: {sorted(sequences)}"
    numbers = [number for *_, number in rows]
    assert len(numbers) == len(set(numbers)), "a number was printed twice"
    return {key: len(sequences) for key, sequences in per.items()}


async def committed(db) -> list[tuple[str, int, int, str]]:
    rows = await db.execute(select(Invoice.issuer_key, Invoice.year, Invoice.sequence, Invoice.number))
    return [tuple(row) for row in rows.all()]


async def test_numbers_taken_at_once_have_no_gap_and_no_repeat_even_with_rollbacks(app, db, client, contractor):
    contract, _, _ = await funded(db, client.user, contractor.user)  # Pactline's receipt is number 1
    client_id, contractor_id = client.user.id, contractor.user.id
    entry_ids = await entries_to_document(db, contract, ROUNDS * AT_ONCE)
    contractor_key = numbering.user_issuer(contractor_id)
    outcomes: list[str] = []

    async def issue(n: int, barrier: asyncio.Barrier) -> None:
        pactline = n % 2 == 0
        key, kind = (
            ("pactline", DocumentKind.receipt) if pactline else (contractor_key, DocumentKind.contractor_invoice)
        )
        async with app.state.sessionmaker() as s:
            await numbering.stage(s, document(contract, entry_ids[n], key, kind, client_id))
            await barrier.wait()  # every transaction of the round is open before any commits
            if n % 3 == 0:
                # Takes its number (and holds the issuer's row) and then rolls back: the number
                # goes to the next transaction in line.
                await numbering.number_now(s)
                await asyncio.sleep(0)
                await s.rollback()
                outcomes.append("rolled back")
            else:
                await s.commit()
                outcomes.append("committed")

    for r in range(ROUNDS):
        barrier = asyncio.Barrier(AT_ONCE)
        await asyncio.gather(*(issue(r * AT_ONCE + i, barrier) for i in range(AT_ONCE)))

    assert outcomes.count("rolled back") == 12 and outcomes.count("committed") == 24
    counts = assert_gap_free(await committed(db))
    assert counts == {("pactline", YEAR): 1 + 12, (contractor_key, YEAR): 12}
    sequences = {(row.issuer_key, row.year): row.last_number for row in await db.scalars(select(InvoiceSequence))}
    assert sequences == counts  # the counter is where the committed numbers end: nothing taken for nothing


async def test_a_new_year_starts_at_one_and_years_count_apart(app, db):
    async def take(key: str, year: int, *, keep: bool = True) -> int:
        async with app.state.sessionmaker() as s:
            number = await numbering.next_number(s, key, year)
            await (s.commit() if keep else s.rollback())
            return number

    assert [await take("pactline", YEAR) for _ in range(3)] == [1, 2, 3]
    assert await take("pactline", YEAR + 1, keep=False) == 1
    assert [await take("pactline", YEAR + 1) for _ in range(2)] == [1, 2]  # the rolled-back 1 is given again
    assert await take("pactline", YEAR) == 4
    assert await take("user:7", YEAR + 1) == 1
    assert numbering.format_number("pactline", YEAR + 1, 2) == f"PL-{YEAR + 1}-000002"
    assert numbering.format_number("user:7", YEAR, 12345) == f"C7-{YEAR}-12345"


async def test_a_document_staged_in_a_rolled_back_savepoint_is_not_issued(app, db, client, contractor):
    contract, _, _ = await funded(db, client.user, contractor.user)
    first, second = await entries_to_document(db, contract, 2)
    async with app.state.sessionmaker() as s:
        savepoint = await s.begin_nested()
        await numbering.stage(s, document(contract, first, "pactline", DocumentKind.receipt, client.user.id))
        await savepoint.rollback()
        await numbering.stage(s, document(contract, second, "pactline", DocumentKind.receipt, client.user.id))
        await s.commit()
    rows = await committed(db)
    assert sorted(r[2] for r in rows) == [1, 2]
    assert [d.entry_id for d in await documents(db) if d.entry_id in (first, second)] == [second]


async def test_releases_and_fundings_racing_for_the_same_issuers_all_commit_numbered_in_order(app, db, client):
    """Five contracts of one contractor approved at the same moment (each issues the contractor's
    invoice and a Pactline fee invoice) while three other clients' payments arrive (Pactline
    receipts): every transaction commits, and both sequences are gap-free."""
    contractor = await make_user(db, role=Role.contractor)
    submitted = []
    for _ in range(5):
        contract, milestones, _ = await funded(db, client.user, contractor)
        await lifecycle.submit(db, milestones[0].id, contractor, "Delivered.")
        await db.commit()
        submitted.append(milestones[0].id)
    payments = []
    for _ in range(3):
        payer, worker = await make_user(db, role=Role.client), await make_user(db, role=Role.contractor)
        contract, _ = await active_contract(db, payer, worker)
        m = (await milestones_of(db, contract))[0]
        f = await funding.open_funding(db, contract.id, payer, [m.id], provider="sandbox")
        await db.commit()
        payments.append(paid(f))
    barrier = asyncio.Barrier(len(submitted) + len(payments))

    async def approve(milestone_id: int) -> None:
        async with app.state.sessionmaker() as s:
            await barrier.wait()
            await lifecycle.approve(s, milestone_id, await s.get_one(type(client.user), client.user.id))
            await s.commit()

    async def pay(payment) -> None:
        async with app.state.sessionmaker() as s:
            await barrier.wait()
            await funding.apply_payment(s, payment)
            await s.commit()

    await asyncio.gather(*(approve(m) for m in submitted), *(pay(p) for p in payments))

    counts = assert_gap_free(await committed(db))
    assert counts[("pactline", YEAR)] == 5 + 5 + 3  # five receipts before, five fee invoices, three receipts
    assert counts[(numbering.user_issuer(contractor.id), YEAR)] == 5
    kinds = [d.kind for d in await documents(db)]
    assert kinds.count("contractor_invoice") == 5 and kinds.count("fee_invoice") == 5 and kinds.count("receipt") == 8
