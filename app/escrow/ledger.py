"""Posting to the money ledger and reading it back (decision 0029).

`post_entry` is the one way money moves: the verbs for funding, release, refund and settlement
call it with their lines. It refuses, with a clear message, what the database would refuse at
commit anyway (a sum that is not zero per currency, a currency that is not the account's, an
escrow taken below zero), claims the entry's reference so the same move is never posted twice,
and appends the entry to the audit chain in the caller's transaction; an entry of a contract also
signals its parties' money pages (after commit). The caller commits."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.audit.chain import append
from app.contracts.models import Contract
from app.errors import DomainError
from app.escrow.models import (
    CONTRACT_OWNED,
    NEVER_NEGATIVE,
    USER_OWNED,
    Account,
    AccountKind,
    EntryKind,
    JournalEntry,
    Posting,
)
from app.money import Money, format_minor
from app.statements.signals import money_moved

AUDIT_KIND = "ledger_entry_posted"
MAX_REFERENCE = 255


async def account(
    db: AsyncSession,
    kind: AccountKind,
    currency: str,
    *,
    user_id: int | None = None,
    contract_id: int | None = None,
) -> Account:
    """The account of `kind` for its owner in `currency`, made on first use. Two transactions
    making the same account at once both get the one row (the unique index decides)."""
    kind = AccountKind(kind)
    Money(0, currency)  # an unsupported currency is refused here, by name
    if (kind in USER_OWNED) != (user_id is not None) or (kind in CONTRACT_OWNED) != (contract_id is not None):
        owner = "a user" if kind in USER_OWNED else "a contract" if kind in CONTRACT_OWNED else "no owner"
        raise ValueError(f"a {kind} account has {owner}")
    owner = {"kind": kind, "owner_user_id": user_id, "owner_contract_id": contract_id, "currency": currency}
    await db.execute(insert(Account).values(**owner).on_conflict_do_nothing())
    return await db.scalar(
        select(Account).where(
            Account.kind == kind,
            Account.owner_user_id.is_not_distinct_from(user_id),
            Account.owner_contract_id.is_not_distinct_from(contract_id),
            Account.currency == currency,
        )
    )


def _checked_lines(lines: Sequence[tuple[Account, Money]]) -> list[tuple[Account, Money]]:
    if len(lines) < 2:
        raise DomainError("A journal entry needs at least two postings.")
    sums: dict[str, int] = defaultdict(int)
    for acct, amount in lines:
        if not isinstance(amount, Money):
            raise DomainError(f"A posting to {acct.label} is not an amount of money: {amount!r}.")
        if acct.id is None:
            raise DomainError("A posting names an account that is not saved; get it with ledger.account().")
        if amount.currency != acct.currency:
            raise DomainError(
                f"A posting in {amount.currency} cannot go to {acct.label}, which is kept in {acct.currency}."
            )
        if amount.is_zero:
            raise DomainError(f"A posting to {acct.label} is zero; leave it out.")
        sums[amount.currency] += amount.amount_minor
    off = {currency: total for currency, total in sums.items() if total != 0}
    if off:
        said = ", ".join(f"{format_minor(total, currency)} in {currency}" for currency, total in sorted(off.items()))
        raise DomainError(f"The postings do not balance: they sum to {said}, not zero.")
    # Accounts are locked and posted to in id order: two entries on the same accounts never
    # wait for each other crosswise.
    return sorted(lines, key=lambda line: line[0].id)


async def post_entry(
    db: AsyncSession,
    kind: EntryKind,
    lines: Sequence[tuple[Account, Money]],
    *,
    reference: str,
    description: str = "",
    contract_id: int | None = None,
    milestone_id: int | None = None,
    actor_id: int | None = None,
) -> JournalEntry:
    """Post one balanced journal entry in the caller's transaction and stage its audit event.

    `reference` names the money move (a webhook event id, `release:milestone:42`, …) and is
    unique: posting it again returns the first entry and moves nothing, provided it is the same
    move (kind and postings); a different move under a used reference is refused. When a
    parallel transaction holds the same reference, this waits for it to end."""
    kind = EntryKind(kind)
    if not reference or len(reference) > MAX_REFERENCE:
        raise DomainError(f"A journal entry needs a reference of 1 to {MAX_REFERENCE} characters.")
    lines = _checked_lines(lines)
    async with db.begin_nested():  # a refusal below leaves nothing behind in the caller's transaction
        entry_id = await db.scalar(
            insert(JournalEntry)
            .values(
                kind=kind,
                reference=reference,
                description=description,
                contract_id=contract_id,
                milestone_id=milestone_id,
                actor_id=actor_id,
            )
            .on_conflict_do_nothing(index_elements=["reference"])
            .returning(JournalEntry.id)
        )
        if entry_id is None:
            return await _replayed(db, kind, lines, reference)
        await _lock_and_check(db, lines)
        db.add_all(
            Posting(entry_id=entry_id, account_id=acct.id, amount_minor=amount.amount_minor, currency=amount.currency)
            for acct, amount in lines
        )
        await db.flush()
    for acct, amount in lines:  # what the trigger wrote, without reading it back
        set_committed_value(acct, "balance_minor", acct.balance_minor + amount.amount_minor)
    entry = await db.get_one(JournalEntry, entry_id)
    await _audit(db, entry, lines)
    if entry.contract_id is not None:  # the parties' money pages refresh after commit
        parties = (
            await db.execute(select(Contract.client_id, Contract.contractor_id).where(Contract.id == entry.contract_id))
        ).one()
        money_moved(db, entry_id=entry.id, contract_id=entry.contract_id, client_id=parties.client_id,
                    contractor_id=parties.contractor_id)  # fmt: skip
    return entry


async def _lock_and_check(db: AsyncSession, lines: list[tuple[Account, Money]]) -> None:
    """Lock the accounts (in id order) and refuse taking an escrow, or what a contractor is owed,
    below zero. The database's CHECK refuses it too; this says it in words."""
    ids = sorted({acct.id for acct, _ in lines})
    held = dict(
        (
            await db.execute(
                select(Account.id, Account.balance_minor)
                .where(Account.id.in_(ids))
                .order_by(Account.id)
                .with_for_update()
            )
        ).all()
    )
    after: dict[int, int] = dict(held)
    for acct, amount in lines:
        after[acct.id] += amount.amount_minor
        set_committed_value(acct, "balance_minor", held[acct.id])
    for acct, _ in lines:
        if acct.kind in NEVER_NEGATIVE and after[acct.id] < 0:
            holder = (
                f"Escrow for contract {acct.owner_contract_id}" if acct.kind == AccountKind.escrow else "This balance"
            )
            raise DomainError(
                f"{holder} holds {format_minor(held[acct.id], acct.currency)}: "
                f"it cannot pay out {format_minor(held[acct.id] - after[acct.id], acct.currency)}."
            )


async def _replayed(
    db: AsyncSession, kind: EntryKind, lines: list[tuple[Account, Money]], reference: str
) -> JournalEntry:
    entry = await db.scalar(select(JournalEntry).where(JournalEntry.reference == reference))
    posted = sorted(
        (p.account_id, p.amount_minor, p.currency)
        for p in await db.scalars(select(Posting).where(Posting.entry_id == entry.id))
    )
    asked = sorted((acct.id, amount.amount_minor, amount.currency) for acct, amount in lines)
    if entry.kind != kind or posted != asked:
        raise DomainError(
            f"The reference {reference!r} was already used for a different money move (entry {entry.id})."
        )
    return entry


async def _audit(db: AsyncSession, entry: JournalEntry, lines: list[tuple[Account, Money]]) -> None:
    subject_type, subject_id = "ledger_entry", str(entry.id)
    if entry.contract_id is not None:  # money is part of the contract's proof bundle
        subject_type, subject_id = (
            "contract",
            await db.scalar(select(Contract.public_id).where(Contract.id == entry.contract_id)),
        )
    await append(
        db,
        AUDIT_KIND,
        actor_id=entry.actor_id,
        subject_type=subject_type,
        subject_id=subject_id,
        data={
            "entry_id": entry.id,
            "kind": str(entry.kind),
            "reference": entry.reference,
            "contract_id": entry.contract_id,
            "milestone_id": entry.milestone_id,
            "postings": [
                {
                    "account_id": acct.id,
                    "account_kind": str(acct.kind),
                    "amount_minor": amount.amount_minor,
                    "currency": amount.currency,
                }
                for acct, amount in lines
            ],
        },
    )


async def balance(db: AsyncSession, acct: Account) -> Money:
    """An account's balance from its postings (not from the maintained column)."""
    total = await db.scalar(
        select(func.coalesce(func.sum(Posting.amount_minor), 0)).where(Posting.account_id == acct.id)
    )
    return Money(int(total), acct.currency)


async def escrow_balance(db: AsyncSession, contract_id: int, currency: str) -> Money:
    """What a contract's escrow holds in `currency`, from postings (zero before any funding)."""
    total = await db.scalar(
        select(func.coalesce(func.sum(Posting.amount_minor), 0))
        .join(Account, Account.id == Posting.account_id)
        .where(
            Account.kind == AccountKind.escrow,
            Account.owner_contract_id == contract_id,
            Account.currency == currency,
        )
    )
    return Money(int(total), currency)


@dataclass
class LedgerVerdict:
    ok: bool
    entries: int
    accounts: int
    broken_entry_id: int | None = None
    broken_account_id: int | None = None
    reason: str = ""


# Each check names the first thing it finds wrong, lowest id first.
_UNBALANCED = """
    SELECT e.id, p.currency, coalesce(sum(p.amount_minor), 0) AS total, count(p.id) AS lines
    FROM ledger_entries e LEFT JOIN ledger_postings p ON p.entry_id = e.id
    GROUP BY e.id, p.currency
    HAVING coalesce(sum(p.amount_minor), 0) <> 0 OR count(p.id) = 0
    ORDER BY e.id LIMIT 1
"""
_SHORT = """
    SELECT e.id, count(p.id) AS lines FROM ledger_entries e LEFT JOIN ledger_postings p ON p.entry_id = e.id
    GROUP BY e.id HAVING count(p.id) < 2 ORDER BY e.id LIMIT 1
"""
_WRONG_CURRENCY = """
    SELECT p.entry_id, p.account_id, p.currency, a.currency AS account_currency
    FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id
    WHERE p.currency <> a.currency ORDER BY p.entry_id LIMIT 1
"""
_NOT_ON_CHAIN = """
    SELECT e.id FROM ledger_entries e
    WHERE NOT EXISTS (
        SELECT 1 FROM audit_events a
        WHERE a.kind = :kind AND a.data ->> 'entry_id' = e.id::text AND a.data ->> 'reference' = e.reference
    )
    ORDER BY e.id LIMIT 1
"""
_ACCOUNTS = """
    SELECT a.id, a.kind, a.currency, a.balance_minor, coalesce(sum(p.amount_minor), 0) AS total,
           max(p.entry_id) AS last_entry
    FROM ledger_accounts a LEFT JOIN ledger_postings p ON p.account_id = a.id
    GROUP BY a.id
    HAVING a.balance_minor <> coalesce(sum(p.amount_minor), 0)
        OR (a.kind IN ('escrow', 'contractor_payable', 'payouts_in_transit')
            AND (coalesce(sum(p.amount_minor), 0) < 0 OR a.balance_minor < 0))
    ORDER BY a.id LIMIT 1
"""


async def verify(db: AsyncSession) -> LedgerVerdict:
    """Check the whole ledger in SQL: every entry has two or more postings summing to zero per
    currency, in its accounts' currencies, and is on the audit chain; every account's balance
    column equals the sum of its postings; no escrow, payable or payout in transit is below zero."""
    entries = await db.scalar(text("SELECT count(*) FROM ledger_entries"))
    accounts = await db.scalar(text("SELECT count(*) FROM ledger_accounts"))

    def broken(reason: str, *, entry: int | None = None, acct: int | None = None) -> LedgerVerdict:
        return LedgerVerdict(False, entries, accounts, entry, acct, reason)

    found: list[LedgerVerdict] = []
    if row := (await db.execute(text(_UNBALANCED))).first():
        if row.lines == 0:
            found.append(broken("it has no postings", entry=row.id))
        else:
            said = format_minor(int(row.total), row.currency)
            found.append(broken(f"its {row.currency} postings sum to {said}, not zero", entry=row.id))
    if row := (await db.execute(text(_SHORT))).first():
        found.append(broken(f"it has {row.lines} posting(s), fewer than two", entry=row.id))
    if row := (await db.execute(text(_WRONG_CURRENCY))).first():
        found.append(
            broken(
                f"it posts {row.currency} to account {row.account_id}, kept in {row.account_currency}",
                entry=row.entry_id,
            )
        )
    if row := (await db.execute(text(_NOT_ON_CHAIN), {"kind": AUDIT_KIND})).first():
        found.append(broken("it is not on the audit chain", entry=row.id))
    if found:
        return min(found, key=lambda verdict: verdict.broken_entry_id)
    if row := (await db.execute(text(_ACCOUNTS))).first():
        total, kept = format_minor(int(row.total), row.currency), format_minor(row.balance_minor, row.currency)
        if row.balance_minor != row.total:
            reason = f"its balance column says {kept} but its postings sum to {total}"
        else:
            reason = f"it is below zero ({total})"
        return broken(f"account {row.id} ({row.kind}): {reason}", entry=row.last_entry, acct=row.id)
    return LedgerVerdict(True, entries, accounts)
