"""Reading the money ledger for people (decision 0041): a contract's statement, a client's figures
per contract and currency, and the monthly sums behind the charts of /payments and /earnings.

Everything is read from journal entries and their postings (app/escrow/models.py), summed in
Postgres as exact integers of minor units. What each figure means:

- Paid in: what arrived in the contract's escrow (every positive posting to its escrow account:
  a funding, or a payment that could fund nothing and was refunded at once).
- Held in escrow: the escrow account's balance now (the sum of its postings).
- Released: what left escrow for the contractor in a release or a settlement, fee included; the
  fee is shown as a part of it. "Released to you" on /earnings is the contractor's part, net of it.
- Refunded: what left escrow back to the client (a refund, or the client's part of a settlement).
- Paid out (/earnings): payouts that arrived at the contractor's bank.

Paid in = held + released + refunded, per contract and currency (a test holds it)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.contracts.models import Contract
from app.money import format_minor

# Per journal entry of the chosen contracts and currency: what it did to the contract's escrow
# and where that money went. Entries that do not touch escrow (the provider paying a refund
# back) have zeros and still show on a statement.
FLOWS = """
    SELECT e.id AS entry_id, e.kind, e.contract_id, e.milestone_id, e.description, e.created_at AS at,
           p.currency,
           coalesce(sum(p.amount_minor) FILTER (
               WHERE a.kind = 'escrow' AND a.owner_contract_id = e.contract_id), 0)::bigint AS escrow,
           coalesce(sum(p.amount_minor) FILTER (
               WHERE a.kind = 'escrow' AND a.owner_contract_id = e.contract_id AND p.amount_minor > 0), 0)::bigint
               AS paid_in,
           coalesce(sum(p.amount_minor) FILTER (
               WHERE a.kind = 'contractor_payable' AND e.kind IN ('release', 'settlement')), 0)::bigint
               AS to_contractor,
           coalesce(sum(p.amount_minor) FILTER (
               WHERE a.kind = 'platform_fees' AND e.kind IN ('release', 'settlement')), 0)::bigint AS fee,
           coalesce(sum(p.amount_minor) FILTER (
               WHERE a.kind = 'refunds' AND e.kind IN ('refund', 'settlement') AND p.amount_minor > 0), 0)::bigint
               AS refunded,
           coalesce(-sum(p.amount_minor) FILTER (
               WHERE a.kind = 'refunds' AND e.kind = 'refund_paid'), 0)::bigint AS refund_paid
    FROM ledger_entries e
    JOIN ledger_postings p ON p.entry_id = e.id
    JOIN ledger_accounts a ON a.id = p.account_id
    WHERE e.contract_id IN ({contracts})
    GROUP BY e.id, e.kind, e.contract_id, e.milestone_id, e.description, e.created_at, p.currency
"""
ONE_CONTRACT = ":contract_id"
CLIENTS_CONTRACTS = "SELECT id FROM contracts WHERE client_id = :user_id"


def flows(contracts: str) -> str:
    return FLOWS.format(contracts=contracts)


# ---------------------------------------------------------------- a contract's statement


@dataclass
class StatementLine:
    """One line of a statement: a journal entry, or one part of it (a release's fee is its own line)."""

    entry_id: int
    at: datetime
    description: str
    currency: str
    amount_minor: int  # the movement of the contract's escrow account (0: it did not touch escrow)
    balance_minor: int = 0  # what escrow holds after this line, in this currency
    milestone: str = ""  # its milestone's title, as typed (the CSV's own column)

    @property
    def amount(self) -> str:
        return signed(self.amount_minor, self.currency)

    @property
    def balance(self) -> str:
        return format_minor(self.balance_minor, self.currency)


@dataclass
class Figures:
    """Paid in, held, released (fee part), refunded: one contract's, or a sum of them, in one currency."""

    currency: str
    paid_in: int = 0
    held: int = 0
    released: int = 0  # to the contractor, fee included
    fee: int = 0
    refunded: int = 0

    def add(self, other: Figures) -> None:
        self.paid_in += other.paid_in
        self.held += other.held
        self.released += other.released
        self.fee += other.fee
        self.refunded += other.refunded

    def money(self, name: str) -> str:
        return format_minor(getattr(self, name), self.currency)

    @property
    def to_contractor(self) -> int:
        return self.released - self.fee


@dataclass
class Statement:
    contract: Contract
    lines: list[StatementLine] = field(default_factory=list)
    figures: list[Figures] = field(default_factory=list)  # per currency


def signed(amount_minor: int, currency: str) -> str:
    """+€1,000.00, −€900.00 (a true minus sign, so a spreadsheet never reads it as a formula), or —."""
    if amount_minor == 0:
        return "—"
    sign = "+" if amount_minor > 0 else "\u2212"
    return sign + format_minor(abs(amount_minor), currency)


def _quoted(title: str | None) -> str:
    return f"“{title}”" if title else ""


def _lines_of(row, milestone: str, contractor: str) -> list[tuple[str, int]]:
    """An entry in words: (description, escrow movement) for each of its parts, in order."""
    what = f": {milestone}" if milestone else ""
    kind = row.kind
    if kind == "funding":
        return [(f"Funded{what}" if milestone else "Payment received that could fund nothing", row.escrow)]
    if kind == "release":
        parts = [(f"Released to {contractor}{what}", -row.to_contractor)]
        if row.fee:
            parts.append((f"Platform fee{what}", -row.fee))
        return parts
    if kind == "refund":
        return [(f"Refunded to the client{what}" if milestone else "Refunded to the client in full", row.escrow)]
    if kind == "settlement":
        parts = []
        if row.refunded:
            parts.append((f"Settled{what}: refunded to the client", -row.refunded))
        if row.to_contractor:
            parts.append((f"Settled{what}: released to {contractor}", -row.to_contractor))
        if row.fee:
            parts.append((f"Platform fee{what}", -row.fee))
        return parts or [(f"Settled{what}", row.escrow)]
    if kind == "refund_paid":
        return [("Refund paid back to the client’s card by the payment provider", 0)]
    return [(row.description or kind.replace("_", " ").capitalize(), row.escrow)]


async def statement_of(db: AsyncSession, contract: Contract) -> Statement:
    """Every journal entry of the contract, oldest first, with a running balance of escrow per currency."""
    rows = (await db.execute(text(flows(ONE_CONTRACT) + " ORDER BY at, entry_id"), {"contract_id": contract.id})).all()
    titles = dict(
        (
            await db.execute(
                text("SELECT id, title FROM contract_milestones WHERE contract_id = :c"), {"c": contract.id}
            )
        ).all()
    )
    contractor = await db.scalar(text("SELECT name FROM users WHERE id = :id"), {"id": contract.contractor_id})
    statement = Statement(contract)
    running: dict[str, int] = defaultdict(int)
    figures: dict[str, Figures] = {}
    for row in rows:
        title = titles.get(row.milestone_id) or ""
        for description, amount in _lines_of(row, _quoted(title), contractor or "the contractor"):
            running[row.currency] += amount
            statement.lines.append(
                StatementLine(row.entry_id, row.at, description, row.currency, amount, running[row.currency], title)
            )
        f = figures.setdefault(row.currency, Figures(row.currency))
        f.add(_figures_of(row))
    statement.figures = [figures[c] for c in sorted(figures)]
    return statement


def _figures_of(row) -> Figures:
    return Figures(
        row.currency,
        paid_in=row.paid_in,
        held=row.escrow,
        released=row.to_contractor + row.fee,
        fee=row.fee,
        refunded=row.refunded,
    )


# ---------------------------------------------------------------- /payments: a client's figures


@dataclass
class ContractMoney:
    contract: Contract
    figures: list[Figures]  # per currency


@dataclass
class ClientMoney:
    totals: list[Figures]  # per currency, over all their contracts
    contracts: list[ContractMoney]


_PER_CONTRACT = f"""
    SELECT f.contract_id, f.currency,
           sum(f.paid_in)::bigint AS paid_in, sum(f.escrow)::bigint AS escrow,
           sum(f.to_contractor)::bigint AS to_contractor, sum(f.fee)::bigint AS fee,
           sum(f.refunded)::bigint AS refunded
    FROM ({flows(CLIENTS_CONTRACTS)}) AS f
    GROUP BY f.contract_id, f.currency
"""  # noqa: S608 (built from our own constants)


async def client_money(db: AsyncSession, client_id: int) -> ClientMoney:
    """The client's money per contract (those where any moved, newest contract first) and in total."""
    rows = (await db.execute(text(_PER_CONTRACT), {"user_id": client_id})).all()
    per_contract: dict[int, list[Figures]] = defaultdict(list)
    totals: dict[str, Figures] = {}
    for row in rows:
        f = _figures_of(row)
        per_contract[row.contract_id].append(f)
        totals.setdefault(row.currency, Figures(row.currency)).add(f)
    contracts = []
    if per_contract:
        found = await db.scalars(
            select(Contract)
            .where(Contract.id.in_(list(per_contract)), Contract.client_id == client_id)
            .order_by(Contract.id.desc())
        )
        for contract in found.all():
            contracts.append(ContractMoney(contract, sorted(per_contract[contract.id], key=lambda f: f.currency)))
    return ClientMoney([totals[c] for c in sorted(totals)], contracts)


# ---------------------------------------------------------------- the charts' sources

# The client: what they paid into escrow and what was released to their contractors (fee included).
_CLIENT_SELECT = "SELECT f.at, f.currency, f.paid_in, f.to_contractor + f.fee AS released"
CLIENT_MONTHLY = f"{_CLIENT_SELECT} FROM ({flows(CLIENTS_CONTRACTS)}) AS f"

# The contractor: what was released to them (their part, net of the fee) and the payouts that
# arrived at their bank.
CONTRACTOR_MONTHLY = """
    SELECT e.created_at AS at, p.currency,
           CASE WHEN e.kind IN ('release', 'settlement') THEN p.amount_minor ELSE 0 END AS earned,
           CASE WHEN e.kind = 'payout_paid' THEN -p.amount_minor ELSE 0 END AS paid_out
    FROM ledger_entries e
    JOIN ledger_postings p ON p.entry_id = e.id
    JOIN ledger_accounts a ON a.id = p.account_id
    WHERE a.owner_user_id = :user_id
      AND ((a.kind = 'contractor_payable' AND e.kind IN ('release', 'settlement'))
        OR (a.kind = 'payouts_in_transit' AND e.kind = 'payout_paid'))
"""
