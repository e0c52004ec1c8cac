"""The daily reconciliation: the money ledger against the payment provider's own records, for one
UTC day (decision 0039).

A run reads the provider's list API first, with no transaction open, then reads the ledger and
writes its verdict — the run, one `ReconciliationMismatch` per differing row in plain words, and
on a mismatch the admins' live signal and e-mail — in one transaction.

What is compared:
- payments: each funding the ledger received money for vs the provider's succeeded payment with
  the funding's public id as reference (payment id, amount, currency), both ways;
- refunds: each refund the ledger closed (`refund_paid`) vs the provider's refund with the same
  idempotency key (amount), both ways;
- payouts: each payout the ledger moved (sent, paid, returned) vs the provider's payout with the
  payout's public id as reference (amount, state), both ways;
- totals, per currency, over the whole history: the provider's payments − refunds − paid payouts
  vs what provider clearing says the provider holds for us (minus its balance).

Rows are those of the day: provider records created in [day, day + 1) and ledger entries posted
in it. Each is looked up on the other side over the whole history, so a checkout opened before
midnight and paid after it, or a payout the ledger moved at 23:59 and the provider created at
00:01, matches whichever day it is looked at from. A provider record younger than GRACE with
nothing in the ledger yet is not judged: its webhook may still be on its way."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts.models import Role, User, UserStatus
from app.db import utcnow
from app.escrow.lifecycle import refund_paid_reference
from app.events import publish
from app.money import Money, format_minor
from app.notifications import notify
from app.payments.models import ReconciliationMismatch, ReconciliationRun, ReconciliationStatus
from app.payments.provider import PaymentProvider, PayoutState, ProviderRecord
from app.payouts.services import payout_of_reference
from app.web.urls import path_for

log = logging.getLogger("pactline.payments")

GRACE = timedelta(hours=1)  # a webhook this young may still be on its way: not judged yet
BEGINNING = datetime(2000, 1, 1, tzinfo=UTC)  # before any record: "the whole history"
LIVE_EVENT = "reconciliation-mismatch"
MAX_ERROR = 2000


class FutureDay(ValueError):
    """A day that has not begun has nothing to reconcile."""


# ---------------------------------------------------------------- what our books say


@dataclass
class FundingBooks:
    public_id: str
    payment_id: str | None  # the provider's payment the funding was paid with
    received: Money  # what the ledger took in from provider clearing for it
    posted_at: datetime  # its first funding entry


@dataclass
class RefundBooks:
    key: str
    amount: Money
    posted_at: datetime


@dataclass
class PayoutBooks:
    public_id: str
    status: str  # the payout row's status
    amount: Money
    provider_payout_id: str | None
    sent_at: datetime | None = None  # the `payout` entry: payable → in transit
    paid_at: datetime | None = None  # the `payout_paid` entry
    returned_at: datetime | None = None  # the `payout_returned` entry

    @property
    def state(self) -> str:
        if self.paid_at is not None:
            return "paid"
        if self.returned_at is not None:
            return "returned"
        if self.sent_at is not None:
            return "in transit"
        return "not moved"

    def moved_in(self, start: datetime, end: datetime) -> bool:
        return any(t is not None and start <= t < end for t in (self.sent_at, self.paid_at, self.returned_at))


@dataclass
class Books:
    fundings: dict[str, FundingBooks] = field(default_factory=dict)
    refunds: dict[str, RefundBooks] = field(default_factory=dict)
    payouts: dict[str, PayoutBooks] = field(default_factory=dict)
    clearing: dict[str, int] = field(default_factory=dict)  # currency → balance of provider clearing


_FUNDINGS = """
    WITH received AS (
        SELECT split_part(e.reference, ':', 2) AS public_id, p.currency,
               -sum(p.amount_minor) AS received, min(e.created_at) AS posted_at
        FROM ledger_entries e
        JOIN ledger_postings p ON p.entry_id = e.id
        JOIN ledger_accounts a ON a.id = p.account_id
        WHERE e.kind = 'funding' AND a.kind = 'provider_clearing'
        GROUP BY 1, 2
    )
    SELECT r.public_id, r.currency, r.received, r.posted_at, f.provider_payment_id
    FROM received r LEFT JOIN escrow_fundings f ON f.public_id = r.public_id
"""
_REFUNDS = """
    SELECT e.reference, p.currency, p.amount_minor, e.created_at
    FROM ledger_entries e
    JOIN ledger_postings p ON p.entry_id = e.id
    JOIN ledger_accounts a ON a.id = p.account_id
    WHERE e.kind = 'refund_paid' AND a.kind = 'provider_clearing'
"""
_PAYOUTS = "SELECT public_id, status, amount_minor, currency, provider_payout_id FROM payouts"
_PAYOUT_ENTRIES = """
    SELECT reference, kind, created_at FROM ledger_entries
    WHERE kind IN ('payout', 'payout_paid', 'payout_returned')
"""
_CLEARING = """
    SELECT a.currency, coalesce(sum(p.amount_minor), 0) AS balance
    FROM ledger_accounts a LEFT JOIN ledger_postings p ON p.account_id = a.id
    WHERE a.kind = 'provider_clearing'
    GROUP BY a.currency
"""


async def read_books(db: AsyncSession) -> Books:
    """The ledger's side, whole history, in a few aggregate queries."""
    books = Books()
    for row in await db.execute(text(_FUNDINGS)):
        books.fundings[row.public_id] = FundingBooks(
            row.public_id, row.provider_payment_id, Money(int(row.received), row.currency), row.posted_at
        )
    prefix = refund_paid_reference("")
    for row in await db.execute(text(_REFUNDS)):
        key = row.reference.removeprefix(prefix)
        books.refunds[key] = RefundBooks(key, Money(row.amount_minor, row.currency), row.created_at)
    for row in await db.execute(text(_PAYOUTS)):
        books.payouts[row.public_id] = PayoutBooks(
            row.public_id, row.status, Money(row.amount_minor, row.currency), row.provider_payout_id
        )
    for row in await db.execute(text(_PAYOUT_ENTRIES)):
        payout = books.payouts.get(payout_of_reference(row.reference))
        if payout is None:
            continue  # an entry for a payout row that does not exist: `ledger verify` territory
        when = {"payout": "sent_at", "payout_paid": "paid_at", "payout_returned": "returned_at"}[row.kind]
        setattr(payout, when, row.created_at)
    books.clearing = {row.currency: int(row.balance) for row in await db.execute(text(_CLEARING))}
    return books


# ---------------------------------------------------------------- the comparison


@dataclass(frozen=True)
class Difference:
    kind: str  # payment, refund, payout, balance
    reference: str
    provider_object_id: str
    ledger: str  # what our books say
    provider_says: str
    note: str = ""


@dataclass
class Verdict:
    differences: list[Difference]
    checked: dict[str, int]


def _money(amount: Money) -> str:
    return f"{format_minor(amount.amount_minor, amount.currency)} ({amount.currency})"


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%-d %B %Y, %H:%M UTC")


class _Comparison:
    def __init__(self, books: Books, records: list[ProviderRecord], start: datetime, end: datetime, now: datetime):
        self.books, self.start, self.end, self.recent = books, start, end, now - GRACE
        self.by_kind: dict[str, dict[str, list[ProviderRecord]]] = defaultdict(lambda: defaultdict(list))
        for record in records:
            self.by_kind[record.kind][record.reference].append(record)
        self.records = records
        self.differences: list[Difference] = []
        self.checked: dict[str, int] = defaultdict(int)
        self.waiting: set[tuple[str, str]] = set()  # (kind, provider id) of records too young to judge

    def today(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def differ(self, kind: str, reference: str, provider_id: str, ledger: str, provider_says: str, note: str = ""):
        self.differences.append(Difference(kind, reference, provider_id, ledger, provider_says, note))

    def young(self, record: ProviderRecord) -> bool:
        """A record with nothing in the ledger yet, young enough that its webhook may be on its way."""
        if record.created_at >= self.recent:
            self.waiting.add((record.kind, record.id))
            self.checked["too recent to judge"] += 1
            return True
        return False

    # ------------------------------------------------------------ payments

    def payments(self) -> None:
        provider = self.by_kind["payment"]
        references = {ref for ref, recs in provider.items() if any(self.today(r.created_at) for r in recs)}
        references |= {ref for ref, f in self.books.fundings.items() if self.today(f.posted_at)}
        for reference in sorted(references):
            self.checked["payments"] += 1
            ours, theirs = self.books.fundings.get(reference), provider.get(reference, [])
            if ours is None:
                for r in theirs:
                    if not self.young(r):
                        self.differ("payment", reference, r.id,
                                    "No funding entry: escrow does not show this money.",
                                    f"A payment of {_money(r.amount)} succeeded (made {_when(r.created_at)}).",
                                    "Money was taken from a client that escrow does not hold.")  # fmt: skip
                continue
            match = next((r for r in theirs if r.id == ours.payment_id), None)
            if match is not None and len(theirs) == 1 and match.amount == ours.received:
                continue  # the usual case: one payment, the one the funding was paid with, same amount
            said = f"Funding {reference} received {_money(ours.received)} on {_when(ours.posted_at)}"
            if not theirs:
                self.differ("payment", reference, ours.payment_id or "", f"{said} (payment {ours.payment_id or '—'}).",
                            "No succeeded payment with this reference.",
                            "Escrow holds money the provider does not show as taken.")  # fmt: skip
                continue
            if match is None:
                found = ", ".join(f"{r.id} of {_money(r.amount)}" for r in theirs)
                self.differ("payment", reference, ours.payment_id or "", f"{said} (payment {ours.payment_id or '—'}).",
                            f"That payment did not succeed here; this reference has {found}.",
                            "The ledger and the provider name different payments.")  # fmt: skip
                continue
            for r in theirs:
                if r is match:
                    continue
                self.differ("payment", reference, r.id,
                            f"{said}, from payment {ours.payment_id or '—'}, not from this one.",
                            f"This payment of {_money(r.amount)} also succeeded (made {_when(r.created_at)}).",
                            "The client may have been charged twice for one funding.")  # fmt: skip
            if match.amount != ours.received:
                self.differ("payment", reference, match.id, f"{said}.",
                            f"The payment is {_money(match.amount)}.", "The amounts differ.")  # fmt: skip

    # ------------------------------------------------------------ refunds

    def refunds(self) -> None:
        provider = self.by_kind["refund"]
        keys = {key for key, recs in provider.items() if any(self.today(r.created_at) for r in recs)}
        keys |= {key for key, r in self.books.refunds.items() if self.today(r.posted_at)}
        for key in sorted(keys):
            self.checked["refunds"] += 1
            ours, theirs = self.books.refunds.get(key), provider.get(key, [])
            if ours is None:
                for r in theirs:
                    if not self.young(r):
                        self.differ("refund", key, r.id,
                                    "No refund closed in the ledger: the client's refunds account still shows this "
                                    "money as owed.",
                                    f"Refund {r.id} of {_money(r.amount)} was made on {_when(r.created_at)}.")  # fmt: skip
                continue
            if len(theirs) == 1 and theirs[0].amount == ours.amount:
                continue
            said = f"{_money(ours.amount)} refunded through the provider on {_when(ours.posted_at)}."
            if not theirs:
                self.differ("refund", key, "", said, "No refund with this key.",
                            "The ledger says money went back to the client that the provider did not refund.")  # fmt: skip
                continue
            total = Money(sum(r.amount.amount_minor for r in theirs), theirs[0].amount.currency)
            if total != ours.amount:
                self.differ("refund", key, theirs[0].id, said, f"The refund is {_money(total)}.",
                            "The amounts differ.")  # fmt: skip

    # ------------------------------------------------------------ payouts

    _AGREE = {("in transit", PayoutState.pending), ("paid", PayoutState.paid), ("returned", PayoutState.failed)}
    _STATE_WORDS = {
        "in transit": "on its way to the contractor's bank",
        "paid": "paid out to the contractor",
        "returned": "failed and returned to the contractor's balance",
        "not moved": "never taken from the contractor's balance",
    }

    def payouts(self) -> None:
        provider = self.by_kind["payout"]
        references = {ref for ref, recs in provider.items() if any(self.today(r.created_at) for r in recs)}
        references |= {ref for ref, p in self.books.payouts.items() if p.moved_in(self.start, self.end)}
        for reference in sorted(references):
            self.checked["payouts"] += 1
            ours, theirs = self.books.payouts.get(reference), provider.get(reference, [])
            if ours is None:
                for r in theirs:
                    self.differ("payout", reference, r.id, "No payout with this reference.",
                                f"A payout of {_money(r.amount)} is {r.state} (made {_when(r.created_at)}).",
                                "The provider sent money nobody asked for here.")  # fmt: skip
                continue
            if len(theirs) == 1 and theirs[0].amount == ours.amount and (ours.state, theirs[0].state) in self._AGREE:
                continue
            said = f"{_money(ours.amount)}, {self._STATE_WORDS[ours.state]}."
            if not theirs:
                if ours.provider_payout_id is None and ours.status == "requested":
                    continue  # not sent to the provider yet: nothing to compare
                self.differ("payout", reference, ours.provider_payout_id or "", said,
                            "No payout with this reference.")  # fmt: skip
                continue
            r = theirs[0]
            for extra in theirs[1:]:
                self.differ("payout", reference, extra.id, said,
                            f"A second payout of {_money(extra.amount)} is {extra.state}.",
                            "The provider may have paid this payout twice.")  # fmt: skip
            theirs_said = f"{_money(r.amount)}, {r.state} (made {_when(r.created_at)})."
            if r.amount != ours.amount:
                self.differ("payout", reference, r.id, said, theirs_said, "The amounts differ.")
            if (ours.state, r.state) in self._AGREE:
                continue
            if ours.state == "in transit" and self.young(r):
                continue  # the provider's word on it (its webhook) may still be on its way
            note = {
                ("in transit", PayoutState.paid): "Paid at the provider but not in the ledger.",
                ("in transit", PayoutState.failed): "Failed at the provider, but the ledger has not returned it.",
                ("returned", PayoutState.paid): "Paid at the provider, and returned to the balance in the ledger: "
                "the contractor could be paid twice.",
            }.get((ours.state, r.state), "The states differ.")
            self.differ("payout", reference, r.id, said, theirs_said, note)

    # ------------------------------------------------------------ totals

    def _in_books(self, r: ProviderRecord) -> bool:
        if r.kind == "payment":
            return r.reference in self.books.fundings
        if r.kind == "refund":
            return r.reference in self.books.refunds
        if r.kind == "payout" and r.state == PayoutState.paid:
            ours = self.books.payouts.get(r.reference)
            return ours is not None and ours.state == "paid"
        return True

    def totals(self) -> None:
        """Whole history, per currency: what the provider's records add up to vs what provider
        clearing says it holds for us. Records too young to judge are left out of the sum."""
        sums: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for r in self.records:
            if (r.kind, r.id) in self.waiting or (r.created_at >= self.recent and not self._in_books(r)):
                continue
            if r.kind == "payment":
                sums[r.amount.currency]["payments"] += r.amount.amount_minor
            elif r.kind == "refund":
                sums[r.amount.currency]["refunds"] += r.amount.amount_minor
            elif r.kind == "payout" and r.state == PayoutState.paid:
                sums[r.amount.currency]["payouts"] += r.amount.amount_minor
        for currency in sorted(set(sums) | set(self.books.clearing)):
            self.checked["currencies"] += 1
            s = sums[currency]
            provider_net = s["payments"] - s["refunds"] - s["payouts"]
            ledger_net = -self.books.clearing.get(currency, 0)
            if provider_net == ledger_net:
                continue

            def m(amount: int, currency: str = currency) -> str:
                return format_minor(amount, currency)

            more = "more" if ledger_net > provider_net else "less"
            self.differ(
                "balance",
                currency,
                "",
                f"Provider clearing says the provider holds {m(ledger_net)} for us.",
                f"Its records add up to {m(provider_net)}: payments {m(s['payments'])} − refunds "
                f"{m(s['refunds'])} − paid payouts {m(s['payouts'])}.",
                f"Our books show {m(abs(ledger_net - provider_net))} {more} than the provider, over the whole history.",
            )


def compare(books: Books, records: list[ProviderRecord], day: date, now: datetime) -> Verdict:
    start = day_start(day)
    comparison = _Comparison(books, records, start, start + timedelta(days=1), now)
    comparison.payments()
    comparison.refunds()
    comparison.payouts()
    comparison.totals()
    checked = {name: comparison.checked.get(name, 0) for name in ("payments", "refunds", "payouts", "currencies")}
    checked["too recent to judge"] = comparison.checked.get("too recent to judge", 0)
    return Verdict(comparison.differences, checked)


# ---------------------------------------------------------------- a run


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


async def reconcile(
    sessionmaker: async_sessionmaker[AsyncSession], provider: PaymentProvider, day: date, *, now: datetime | None = None
) -> ReconciliationRun:
    """Compare the ledger with `provider` for `day` (UTC) and write the run's verdict. A provider
    that does not answer makes the run `failed` with its error (the caller retries)."""
    now = now or utcnow()
    if day_start(day) > now:
        raise FutureDay(f"{day.isoformat()} has not begun yet: there is nothing to reconcile.")
    async with sessionmaker() as db, db.begin():
        run = ReconciliationRun(provider=provider.name, day=day, status=ReconciliationStatus.running, checked={})
        db.add(run)
        await db.flush()
        run_id = run.id
    try:
        # No transaction is open across the provider's answer (DESIGN §6).
        records = await provider.list_records(since=BEGINNING, until=now)
    except Exception as exc:  # noqa: BLE001 — any way the provider fails makes the run failed, said in words
        log.warning("reconciliation of %s: the provider did not answer", day, exc_info=True)
        return await _finish_failed(sessionmaker, run_id, f"The provider did not answer: {exc}")
    try:
        async with sessionmaker() as db, db.begin():
            verdict = compare(await read_books(db), records, day, now)
            run = await db.get_one(ReconciliationRun, run_id, with_for_update=True)
            run.checked = verdict.checked
            run.finished_at = utcnow()
            run.status = ReconciliationStatus.mismatched if verdict.differences else ReconciliationStatus.clean
            db.add_all(
                ReconciliationMismatch(run_id=run_id, kind=d.kind, reference=d.reference[:255],
                                       provider_object_id=d.provider_object_id[:255], ledger=d.ledger,
                                       provider_says=d.provider_says, note=d.note)
                for d in verdict.differences
            )  # fmt: skip
            if verdict.differences:
                await _alert_admins(db, run, len(verdict.differences))
    except Exception as exc:
        await _finish_failed(sessionmaker, run_id, f"The comparison did not finish: {type(exc).__name__}: {exc}")
        raise
    return run


async def _finish_failed(sessionmaker, run_id: int, error: str) -> ReconciliationRun:
    async with sessionmaker() as db, db.begin():
        await db.execute(
            update(ReconciliationRun)
            .where(ReconciliationRun.id == run_id)
            .values(status=ReconciliationStatus.failed, error=error[:MAX_ERROR], finished_at=utcnow())
        )
        return await db.get_one(ReconciliationRun, run_id, populate_existing=True)


def day_words(day: date) -> str:
    return day.strftime("%-d %B %Y")


async def _alert_admins(db: AsyncSession, run: ReconciliationRun, rows: int) -> None:
    """Every active admin: a live signal (the console's pages re-fetch themselves) and an e-mail,
    both written in the run's transaction, so they leave only with its verdict."""
    admins = (
        await db.scalars(
            select(User).where(User.role == Role.admin, User.status == UserStatus.active).order_by(User.id)
        )
    ).all()
    path = path_for("admin:reconciliation")
    for admin in admins:
        publish(db, admin.id, LIVE_EVENT, {"run_id": run.id})
        await notify(db, admin, "reconciliation.mismatch", link=path, day=day_words(run.day),
                     differences=f"{rows} row" if rows == 1 else f"{rows} rows", rows=rows,
                     provider=run.provider, run_id=run.id)  # fmt: skip
