"""A retainer's periods as dates (decision 0042): where the schedule starts, where period n begins
and ends, and its title in plain words. Pure functions: the services make rows of them.

Monthly periods keep the day of the month they started on, clamped to the month's last day: a
retainer starting 31 January has periods starting 31 Jan, 28 (or 29) Feb, 31 Mar, 30 Apr… —
each one computed from the first, so a short month never shifts the later ones. Weekly periods
are seven days. A period covers [start, end): it ends where the next one starts."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from app.contracts.terms import Retainer

WEEK = "week"
MONTH = "month"
# The first funding reminder goes this long before a period starts; the second on its first day.
REMIND_BEFORE = timedelta(days=3)


def add_months(day: date, months: int, *, anchor_day: int | None = None) -> date:
    """`day` moved by `months` calendar months, on `anchor_day` (default: `day`'s own) or the
    month's last day when it is shorter."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    wanted = anchor_day or day.day
    return date(year, month, min(wanted, calendar.monthrange(year, month)[1]))


def first_start(retainer: Retainer, activated_on: date) -> date:
    """The first period starts on the signed start date, or on the day the contract became active
    when that date is missing or already past (nobody pays for time before both signed)."""
    start = retainer.start_date
    return start if start is not None and start >= activated_on else activated_on


@dataclass(frozen=True)
class Period:
    number: int  # 0 for the first
    start: date
    end: date  # the next period's start: the period covers [start, end)
    title: str


def period_start(anchor: date, period: str, number: int) -> date:
    if period == WEEK:
        return anchor + timedelta(weeks=number)
    return add_months(anchor, number, anchor_day=anchor.day)


def period(anchor: date, kind: str, number: int) -> Period:
    start, end = period_start(anchor, kind, number), period_start(anchor, kind, number + 1)
    return Period(number, start, end, title(start, end, kind))


def title(start: date, end: date, kind: str) -> str:
    """ "December 2026" for a calendar month, "15 Dec 2026 to 14 Jan 2027" for a month from another
    day, "Week of 7 Dec 2026" for a week."""
    if kind == WEEK:
        return f"Week of {start.day} {start.strftime('%b %Y')}"
    if start.day == 1:
        return start.strftime("%B %Y")
    last = end - timedelta(days=1)
    return f"{start.day} {start.strftime('%b %Y')} to {last.day} {last.strftime('%b %Y')}"


# The rolling schedule: this many periods that have not ended yet exist at any time (the current
# one and the next two, or the first three when the retainer starts later).
AHEAD = 3


def missing(anchor: date, kind: str, existing: int, today: date) -> list[Period]:
    """The periods after the first `existing` ones that the schedule needs so that AHEAD periods
    ending after `today` exist. Periods that ended while nobody extended the schedule are made
    too (they were part of the contract), so numbers never skip."""
    out: list[Period] = []
    number = existing
    ahead = 0
    for n in range(existing):
        if period_start(anchor, kind, n + 1) > today:
            ahead += 1
    while ahead < AHEAD:
        p = period(anchor, kind, number)
        out.append(p)
        if p.end > today:
            ahead += 1
        number += 1
    return out
