"""The 12-month bar chart of /payments and /earnings (decision 0041): amounts per calendar month
(UTC) summed by Postgres, exact integers, drawn as server-rendered SVG with the same numbers as
a table.

`monthly_totals` groups any source of dated amounts by month; each page gives it its own source
(what the client paid in and what was released; what the contractor earned and was paid out).
`build_charts` turns the totals into one `Chart` per currency: the bars' geometry in a fixed
viewBox (the SVG scales to the width it is given, so it fits a 360 px phone), the words for its
<title> and <desc>, and the rows of its table. templates/statements/_chart.html draws it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.money import format_minor
from app.retainers.schedule import add_months  # calendar months (day 1 stays day 1)

MONTHS = 12

# The drawing's own units; CSS makes the SVG as wide as its card and keeps the proportions.
WIDTH, HEIGHT = 360, 200
TOP, BOTTOM, LEFT, RIGHT = 22, 22, 4, 4  # room for the top value line and the month labels
PLOT_HEIGHT = HEIGHT - TOP - BOTTOM
SLOT = (WIDTH - LEFT - RIGHT) / MONTHS  # 29.33 units per month
GAP = 4  # between two months' bars


def month_start(day: date | datetime) -> date:
    return date(day.year, day.month, 1)


def window(now: datetime | None = None) -> list[date]:
    """The first days of the last 12 calendar months (UTC), oldest first, ending with `now`'s month."""
    now = now or datetime.now(UTC)
    this = month_start(now.astimezone(UTC))
    return [add_months(this, i - (MONTHS - 1)) for i in range(MONTHS)]


async def monthly_totals(
    db: AsyncSession,
    source: str,
    params: dict,
    series: Sequence[str],
    *,
    now: datetime | None = None,
) -> dict[str, dict[str, list[int]]]:
    """Sum `source`'s amounts per UTC calendar month of the 12-month window, per currency.

    `source` is a SELECT with the columns `at` (timestamptz), `currency` and one integer column
    per name in `series`; the answer is currency → series → 12 integers, oldest month first
    (months with nothing are 0). Only currencies with something in the window appear."""
    months = window(now)
    start = datetime(months[0].year, months[0].month, 1, tzinfo=UTC)
    end_day = add_months(months[-1], 1)
    end = datetime(end_day.year, end_day.month, 1, tzinfo=UTC)
    sums = ", ".join(f"coalesce(sum(s.{name}), 0)::bigint AS {name}" for name in series)
    query = f"""
        SELECT date_trunc('month', s.at AT TIME ZONE 'UTC')::date AS month, s.currency, {sums}
        FROM ({source}) AS s
        WHERE s.at >= :chart_start AND s.at < :chart_end
        GROUP BY 1, 2
    """  # noqa: S608 (series names and the source are ours, never a person's input)
    rows = await db.execute(text(query), {**params, "chart_start": start, "chart_end": end})
    index = {month: i for i, month in enumerate(months)}
    found: dict[str, dict[str, list[int]]] = {}
    for row in rows.mappings():
        per = found.setdefault(row["currency"], {name: [0] * MONTHS for name in series})
        for name in series:
            per[name][index[row["month"]]] += int(row[name])
    return {
        currency: per
        for currency, per in sorted(found.items())
        if any(value for values in per.values() for value in values)
    }


@dataclass(frozen=True)
class Series:
    key: str  # the column name in the source
    label: str  # what the legend and the table call it: "Paid in", "Released to you"…


@dataclass(frozen=True)
class Bar:
    series: int  # 0 or 1: the CSS class of its colour
    x: float
    y: float
    width: float
    height: float
    label: str  # "Mar 2026, Paid in: €1,000.00" (the bar's own <title>, for pointer users)


@dataclass(frozen=True)
class MonthLabel:
    x: float
    text: str


@dataclass
class Chart:
    """One currency's 12 months, ready to draw."""

    id: str  # unique on the page: "payments-EUR"
    currency: str
    title: str
    description: str
    series: list[Series]
    months: list[date]
    values: dict[str, list[int]]
    bars: list[Bar] = field(default_factory=list)
    labels: list[MonthLabel] = field(default_factory=list)
    top_minor: int = 0  # the value of the top line
    width: int = WIDTH
    height: int = HEIGHT
    top_y: float = TOP
    base_y: float = TOP + PLOT_HEIGHT
    label_y: float = HEIGHT - 6

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width} {self.height}"

    @property
    def top_label(self) -> str:
        return format_minor(self.top_minor, self.currency)

    def money(self, minor: int) -> str:
        return format_minor(minor, self.currency)

    @property
    def rows(self) -> list[tuple[date, list[int]]]:
        """The table: each month with its amounts in the series' order."""
        return [(month, [self.values[s.key][i] for s in self.series]) for i, month in enumerate(self.months)]

    @property
    def totals(self) -> list[int]:
        return [sum(self.values[s.key]) for s in self.series]


def _nice_top(largest: int) -> int:
    """A round value at or above the largest bar (1, 2 or 5 times a power of ten, in major units)."""
    if largest <= 0:
        return 100
    step = 100
    while True:
        for factor in (1, 2, 5):
            if step * factor >= largest:
                return step * factor
        step *= 10


def month_name(month: date) -> str:
    return month.strftime("%b %Y")


def build_chart(
    chart_id: str,
    currency: str,
    subject: str,
    series: Sequence[Series],
    values: dict[str, list[int]],
    *,
    now: datetime | None = None,
) -> Chart:
    """Lay out one currency's bars: each month a slot, each series a bar in it, heights in
    proportion to a round top value. `subject` names what is shown ("Your payments")."""
    months = window(now)
    series = list(series)
    largest = max((v for s in series for v in values[s.key]), default=0)
    top = _nice_top(largest)
    names = " and ".join(s.label.lower() for s in series)
    period = f"{month_name(months[0])} to {month_name(months[-1])}"
    totals = "; ".join(f"{s.label}: {format_minor(sum(values[s.key]), currency)} in all" for s in series)
    busiest = max(range(MONTHS), key=lambda i: sum(values[s.key][i] for s in series))
    description = (
        f"Bars per month, {period} (UTC), in {currency}: {names}. {totals}. "
        f"The busiest month was {month_name(months[busiest])}. The table below has every month's numbers."
    )
    chart = Chart(
        id=chart_id,
        currency=currency,
        title=f"{subject} per month in {currency}, last 12 months",
        description=description,
        series=series,
        months=months,
        values={s.key: list(values[s.key]) for s in series},
        top_minor=top,
    )
    bar_width = (SLOT - GAP) / len(series)
    for i, month in enumerate(months):
        slot_x = LEFT + i * SLOT + GAP / 2
        chart.labels.append(MonthLabel(round(slot_x + (SLOT - GAP) / 2, 2), month.strftime("%b")))
        for j, s in enumerate(series):
            value = values[s.key][i]
            height = round(PLOT_HEIGHT * value / top, 2) if value > 0 else 0.0
            if value > 0 and height < 1:
                height = 1.0  # a small amount is still visible
            chart.bars.append(
                Bar(
                    series=j,
                    x=round(slot_x + j * bar_width, 2),
                    y=round(TOP + PLOT_HEIGHT - height, 2),
                    width=round(bar_width, 2),
                    height=height,
                    label=f"{month_name(month)}, {s.label}: {format_minor(value, currency)}",
                )
            )
    return chart


def build_charts(
    prefix: str,
    subject: str,
    series: Sequence[Series],
    totals: dict[str, dict[str, list[int]]],
    *,
    now: datetime | None = None,
) -> list[Chart]:
    """One chart per currency that moved in the window (decision 0041)."""
    return [
        build_chart(f"{prefix}-{currency}", currency, subject, series, values, now=now)
        for currency, values in totals.items()
    ]
