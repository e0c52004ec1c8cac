"""Money in escrow by currency, for the admin console: the escrow accounts' total next to the sum
of every contract's escrow balance from its postings, and whether the two are equal."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.money import format_minor

# The escrow accounts' kept balances (the column the ledger's trigger maintains), per currency.
_ACCOUNTS = """
    SELECT currency, sum(balance_minor) AS total, count(*) FILTER (WHERE balance_minor <> 0) AS holding
    FROM ledger_accounts WHERE kind = 'escrow' GROUP BY currency
"""
# Each contract's escrow balance summed from its postings (ledger.escrow_balance), then added up.
_CONTRACTS = """
    WITH per_contract AS (
        SELECT a.owner_contract_id, a.currency, coalesce(sum(p.amount_minor), 0) AS held
        FROM ledger_accounts a LEFT JOIN ledger_postings p ON p.account_id = a.id
        WHERE a.kind = 'escrow'
        GROUP BY a.owner_contract_id, a.currency
    )
    SELECT currency, sum(held) AS total FROM per_contract GROUP BY currency
"""


@dataclass(frozen=True)
class EscrowTotal:
    currency: str
    accounts_minor: int  # the escrow accounts' total
    contracts_minor: int  # the sum of the contracts' escrow balances, from postings
    contracts_holding: int  # how many contracts hold money in it

    @property
    def equal(self) -> bool:
        return self.accounts_minor == self.contracts_minor

    @property
    def in_words(self) -> str:
        if self.equal:
            return "Equal"
        diff = self.accounts_minor - self.contracts_minor
        more = "more" if diff > 0 else "less"
        return f"Not equal: the escrow accounts hold {format_minor(abs(diff), self.currency)} {more} than the contracts"


async def escrow_totals(db: AsyncSession) -> list[EscrowTotal]:
    accounts = {row.currency: row for row in await db.execute(text(_ACCOUNTS))}
    contracts = {row.currency: int(row.total) for row in await db.execute(text(_CONTRACTS))}
    return [
        EscrowTotal(currency, int(accounts[currency].total) if currency in accounts else 0,
                    contracts.get(currency, 0), int(accounts[currency].holding) if currency in accounts else 0)
        for currency in sorted(set(accounts) | set(contracts))
    ]  # fmt: skip
