"""The comparison itself, on the two sides written out by hand: which rows belong to the day, how
money crossing midnight is matched, the payout states that agree and those that do not, the
grace for late webhooks, and the whole-history totals."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.money import Money
from app.payments.provider import PayoutState, ProviderRecord
from app.payments.reconciliation import Books, FundingBooks, PayoutBooks, RefundBooks, compare

DAY = date(2026, 11, 30)
MIDNIGHT = datetime(2026, 11, 30, tzinfo=UTC)
NIGHT_RUN = MIDNIGHT + timedelta(days=1, hours=2, minutes=30)


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


def payment(ref: str, minor: int, at: datetime, pid: str | None = None) -> ProviderRecord:
    return ProviderRecord("payment", pid or f"sbpay_{ref}", ref, eur(minor), "succeeded", at)


def payout(ref: str, minor: int, state: PayoutState, at: datetime) -> ProviderRecord:
    return ProviderRecord("payout", f"sbpo_{ref}", ref, eur(minor), state, at)


def rows(verdict) -> set[tuple[str, str]]:
    return {(d.kind, d.reference) for d in verdict.differences}


def test_a_checkout_paid_after_midnight_matches_from_either_day():
    opened = MIDNIGHT - timedelta(minutes=10)  # the provider dates it when the checkout was made
    books = Books(fundings={"fund_a": FundingBooks("fund_a", "sbpay_fund_a", eur(1000), MIDNIGHT + timedelta(minutes=10))},
                  clearing={"EUR": -1000})  # fmt: skip
    records = [payment("fund_a", 1000, opened)]
    for day in (DAY - timedelta(days=1), DAY):
        verdict = compare(books, records, day, NIGHT_RUN)
        assert verdict.differences == [] and verdict.checked["payments"] == 1


def test_rows_of_other_days_are_not_judged_but_count_in_the_totals():
    earlier = MIDNIGHT - timedelta(days=3)
    books = Books(clearing={"EUR": 0})
    verdict = compare(books, [payment("fund_old", 500, earlier)], DAY, NIGHT_RUN)
    assert rows(verdict) == {("balance", "EUR")}  # not a payment row of this day; the totals still see it
    assert verdict.checked["payments"] == 0


def test_a_second_succeeded_payment_for_one_funding_is_a_row():
    at = MIDNIGHT + timedelta(hours=9)
    books = Books(fundings={"fund_a": FundingBooks("fund_a", "sbpay_1", eur(1000), at)}, clearing={"EUR": -1000})
    verdict = compare(books, [payment("fund_a", 1000, at, "sbpay_1"), payment("fund_a", 1000, at, "sbpay_2")],
                      DAY, NIGHT_RUN)  # fmt: skip
    (difference, balance) = verdict.differences
    assert (difference.kind, difference.provider_object_id) == ("payment", "sbpay_2")
    assert "charged twice" in difference.note and balance.kind == "balance"


def test_a_refund_with_a_different_amount_is_a_row():
    at = MIDNIGHT + timedelta(hours=9)
    books = Books(refunds={"refund:x": RefundBooks("refund:x", eur(300), at)}, clearing={"EUR": 300})
    record = ProviderRecord("refund", "sbre_1", "refund:x", eur(200), "succeeded", at)
    assert rows(compare(books, [record], DAY, NIGHT_RUN)) == {("refund", "refund:x"), ("balance", "EUR")}


IN_DAY = MIDNIGHT + timedelta(hours=12)


@pytest.mark.parametrize(
    ("ours", "theirs", "differs", "note"),
    [
        ("in transit", PayoutState.pending, False, None),
        ("paid", PayoutState.paid, False, None),
        ("returned", PayoutState.failed, False, None),
        ("in transit", PayoutState.paid, True, "Paid at the provider but not in the ledger."),
        ("in transit", PayoutState.failed, True, "Failed at the provider, but the ledger has not returned it."),
        ("paid", PayoutState.pending, True, "The states differ."),
        ("paid", PayoutState.failed, True, "The states differ."),
        ("returned", PayoutState.paid, True, "the contractor could be paid twice"),
    ],
)
def test_payout_states(ours, theirs, differs, note):
    book = PayoutBooks("po_1", "sent", eur(900), "sbpo_po_1", sent_at=IN_DAY)
    if ours == "paid":
        book.paid_at = IN_DAY
    elif ours == "returned":
        book.returned_at = IN_DAY
    clearing = {"EUR": 900 if ours == "paid" else 0}
    verdict = compare(Books(payouts={"po_1": book}, clearing=clearing), [payout("po_1", 900, theirs, IN_DAY)], DAY,
                      NIGHT_RUN)  # fmt: skip
    payout_rows = [d for d in verdict.differences if d.kind == "payout"]
    assert bool(payout_rows) == differs
    if differs:
        assert note in payout_rows[0].note


def test_a_payout_not_sent_yet_needs_no_provider_record_but_a_sent_one_does():
    requested = PayoutBooks("po_r", "requested", eur(900), None, sent_at=IN_DAY)
    sent = PayoutBooks("po_s", "sent", eur(900), "sbpo_po_s", sent_at=IN_DAY)
    verdict = compare(Books(payouts={"po_r": requested, "po_s": sent}), [], DAY, NIGHT_RUN)
    assert rows(verdict) == {("payout", "po_s")} and verdict.checked["payouts"] == 2


def test_a_payout_nobody_asked_for_is_a_row():
    verdict = compare(Books(), [payout("po_x", 900, PayoutState.pending, IN_DAY)], DAY, NIGHT_RUN)
    assert rows(verdict) == {("payout", "po_x")}


def test_a_young_record_without_its_ledger_entry_waits_and_stays_out_of_the_totals():
    now = IN_DAY + timedelta(minutes=20)
    verdict = compare(Books(), [payment("fund_new", 700, IN_DAY)], DAY, now)
    assert verdict.differences == [] and verdict.checked["too recent to judge"] == 1
    # A young one from the next day, outside the rows, stays out of the totals too.
    verdict = compare(Books(), [payment("fund_new", 700, now)], DAY - timedelta(days=1), now + timedelta(minutes=5))
    assert verdict.differences == []


def test_a_clearing_posting_with_nothing_at_the_provider_shows_in_the_totals_in_words():
    verdict = compare(Books(clearing={"EUR": -12_345}), [], DAY, NIGHT_RUN)
    (balance,) = verdict.differences
    assert balance.kind == "balance" and balance.reference == "EUR"
    assert "holds €123.45 for us" in balance.ledger and "add up to €0.00" in balance.provider_says
    assert "€123.45 more than the provider" in balance.note


def test_a_funding_paid_with_another_payment_than_the_providers_is_a_row():
    at = MIDNIGHT + timedelta(hours=9)
    books = Books(fundings={"fund_a": FundingBooks("fund_a", "sbpay_1", eur(1000), at)}, clearing={"EUR": -1000})
    verdict = compare(books, [payment("fund_a", 1000, at, "sbpay_2")], DAY, NIGHT_RUN)
    (difference,) = verdict.differences
    assert difference.provider_object_id == "sbpay_1" and "sbpay_2" in difference.provider_says
    assert difference.note == "The ledger and the provider name different payments."
