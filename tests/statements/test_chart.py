"""The 12-month chart: sums per UTC calendar month made by Postgres (exact integers), the window of
the last 12 months ending this month, one chart per currency, and the SVG's accessible parts.

The ledger stamps each entry with the time it is posted and allows no other (entries are
append-only), so the month grouping is tested two ways: over rows with chosen dates given to the
same SQL as the pages use, and over real entries by moving "now"."""

from datetime import UTC, date, datetime

from app.statements.chart import Series, build_chart, monthly_totals, window
from app.statements.queries import CLIENT_MONTHLY
from tests.statements.helpers import deal, fund, release

ROWS = """
    SELECT * FROM (VALUES
        (timestamptz '2026-03-31 23:30:00+00', 'EUR', 100, 0),
        (timestamptz '2026-04-01 01:30:00+02', 'EUR', 20, 5),
        (timestamptz '2026-04-01 00:00:00+00', 'EUR', 3, 0),
        (timestamptz '2026-11-15 12:00:00+00', 'EUR', 0, 7),
        (timestamptz '2026-11-15 12:00:00+00', 'USD', 9, 0),
        (timestamptz '2025-11-30 23:59:59+00', 'EUR', 1000, 0),
        (timestamptz '2025-12-01 00:00:00+00', 'EUR', 1, 0),
        (timestamptz '2026-12-01 00:00:00+00', 'EUR', 5000, 0)
    ) AS v(at, currency, paid_in, released)
"""
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_the_window_is_the_last_twelve_calendar_months_ending_this_one():
    months = window(NOW)
    assert months[0] == date(2025, 12, 1) and months[-1] == date(2026, 11, 1) and len(months) == 12
    assert window(datetime(2027, 1, 31, 23, 0, tzinfo=UTC))[0] == date(2026, 2, 1)


async def test_amounts_are_summed_per_utc_month_inside_the_window(db):
    totals = await monthly_totals(db, ROWS, {}, ["paid_in", "released"], now=NOW)
    eur, usd = totals["EUR"], totals["USD"]
    months = window(NOW)
    at = {m: i for i, m in enumerate(months)}
    assert eur["paid_in"][at[date(2026, 3, 1)]] == 120  # 23:30 UTC on 31 March, and 01:30 +02 is 23:30 UTC too
    assert eur["paid_in"][at[date(2026, 4, 1)]] == 3
    assert eur["released"][at[date(2026, 3, 1)]] == 5
    assert eur["released"][at[date(2026, 11, 1)]] == 7
    assert eur["paid_in"][at[date(2025, 12, 1)]] == 1  # the first month; November 2025 is outside
    assert sum(eur["paid_in"]) == 124  # December 2026 is in the future of NOW: outside too
    assert usd["paid_in"][at[date(2026, 11, 1)]] == 9 and sum(usd["released"]) == 0
    assert set(totals) == {"EUR", "USD"}


async def test_real_entries_fall_in_this_month_and_leave_the_window_after_a_year(db, client, contractor):
    contract, (design, _) = await deal(db, client.user, contractor.user)
    await fund(db, contract, client.user, design)
    await release(db, design, client.user, contractor.user)
    params = {"user_id": client.user.id}
    now = datetime.now(UTC)
    this = await monthly_totals(db, CLIENT_MONTHLY, params, ["paid_in", "released"], now=now)
    assert this["EUR"]["paid_in"] == [0] * 11 + [100000]
    assert this["EUR"]["released"] == [0] * 11 + [100000]
    later = datetime(now.year + (now.month + 2) // 12, (now.month + 2) % 12 + 1, 1, tzinfo=UTC)  # 3 months on
    shifted = await monthly_totals(db, CLIENT_MONTHLY, params, ["paid_in", "released"], now=later)
    assert shifted["EUR"]["paid_in"] == [0] * 8 + [100000] + [0] * 3
    gone = datetime(now.year + 1, now.month, 1, tzinfo=UTC)
    assert await monthly_totals(db, CLIENT_MONTHLY, params, ["paid_in", "released"], now=gone) == {}


def test_the_chart_is_an_image_with_words_and_bars_in_proportion():
    values = {"paid_in": [0] * 10 + [50000, 100000], "released": [0] * 11 + [25000]}
    chart = build_chart("payments-EUR", "EUR", "Your payments", [Series("paid_in", "Paid in"),
                        Series("released", "Released")], values, now=NOW)  # fmt: skip
    assert chart.title == "Your payments per month in EUR, last 12 months"
    assert "Dec 2025 to Nov 2026" in chart.description and "Paid in: €1,500.00 in all" in chart.description
    assert chart.top_minor == 100000 and chart.top_label == "€1,000.00"
    drawn = [b for b in chart.bars if b.height > 0]
    assert [(b.label, b.height) for b in drawn] == [
        ("Oct 2026, Paid in: €500.00", 78.0),
        ("Nov 2026, Paid in: €1,000.00", 156.0),
        ("Nov 2026, Released: €250.00", 39.0),
    ]
    assert all(0 <= b.x and b.x + b.width <= chart.width for b in chart.bars)
    assert [m.text for m in chart.labels][-2:] == ["Oct", "Nov"]
    assert chart.rows[-1] == (date(2026, 11, 1), [100000, 25000]) and chart.totals == [150000, 25000]
