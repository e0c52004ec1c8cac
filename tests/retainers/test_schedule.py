"""A retainer's schedule: made at activation from the signed terms (monthly, calendar-month aware;
weekly), a rolling few periods ahead, extended by the daily timer without duplicates."""

import asyncio
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from app.accounts.models import Role
from app.audit.models import AuditEvent
from app.contracts.models import Milestone, MilestoneStatus
from app.contracts.terms import Retainer
from app.db import utcnow
from app.retainers import schedule, services
from tests.retainers.helpers import AMOUNT, periods, retainer_contract
from tests.support.factories import make_user


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 30, tzinfo=UTC)


def test_monthly_periods_keep_the_day_of_the_month_clamped_to_short_months():
    anchor = date(2031, 1, 31)
    starts = [schedule.period_start(anchor, "month", n) for n in range(5)]
    assert starts == [date(2031, 1, 31), date(2031, 2, 28), date(2031, 3, 31), date(2031, 4, 30), date(2031, 5, 31)]
    leap = [schedule.period_start(date(2032, 1, 30), "month", n) for n in range(3)]
    assert leap == [date(2032, 1, 30), date(2032, 2, 29), date(2032, 3, 30)]
    december = schedule.period(date(2026, 12, 1), "month", 0)
    assert (december.start, december.end, december.title) == (date(2026, 12, 1), date(2027, 1, 1), "December 2026")
    odd = schedule.period(anchor, "month", 0)
    assert (odd.end, odd.title) == (date(2031, 2, 28), "31 Jan 2031 to 27 Feb 2031")


def test_weekly_periods_are_seven_days_and_say_their_week():
    week = schedule.period(date(2026, 12, 7), "week", 1)
    assert (week.start, week.end, week.title) == (date(2026, 12, 14), date(2026, 12, 21), "Week of 14 Dec 2026")


def test_the_schedule_starts_on_the_signed_date_or_the_activation_day_if_that_is_past():
    today = date(2026, 12, 1)
    assert schedule.first_start(Retainer(100, "month", date(2027, 1, 1)), today) == date(2027, 1, 1)
    assert schedule.first_start(Retainer(100, "month", date(2026, 11, 1)), today) == today
    assert schedule.first_start(Retainer(100, "month", None), today) == today


def test_the_rolling_schedule_keeps_three_periods_that_have_not_ended():
    anchor = date(2027, 1, 1)
    made = schedule.missing(anchor, "month", 0, date(2027, 1, 1))
    assert [p.title for p in made] == ["January 2027", "February 2027", "March 2027"]
    assert schedule.missing(anchor, "month", 3, date(2027, 1, 31)) == []
    later = schedule.missing(anchor, "month", 3, date(2027, 2, 1))  # January ended
    assert [(p.number, p.title) for p in later] == [(3, "April 2027")]


async def test_activation_creates_monthly_periods_from_the_signed_start_with_month_end_dates(db):
    client, contractor = await make_user(db, role=Role.client), await make_user(db, role=Role.contractor)
    contract = await retainer_contract(db, client, contractor, period="month", start=date(2031, 1, 31))
    rows = await periods(db, contract)
    assert [(m.position, m.title, m.period_start, m.period_end, m.due_date) for m in rows] == [
        (0, "31 Jan 2031 to 27 Feb 2031", date(2031, 1, 31), date(2031, 2, 28), date(2031, 1, 31)),
        (1, "28 Feb 2031 to 30 Mar 2031", date(2031, 2, 28), date(2031, 3, 31), date(2031, 2, 28)),
        (2, "31 Mar 2031 to 29 Apr 2031", date(2031, 3, 31), date(2031, 4, 30), date(2031, 3, 31)),
    ]
    assert {(m.amount_minor, m.currency, m.status) for m in rows} == {(AMOUNT, "EUR", MilestoneStatus.pending)}
    kinds = (await db.scalars(select(AuditEvent.kind).where(AuditEvent.subject_id == contract.public_id))).all()
    assert "contract_activated" in kinds and "retainer_periods_added" in kinds


async def test_activation_of_a_weekly_retainer_whose_start_is_past_starts_on_the_activation_day(db):
    client, contractor = await make_user(db, role=Role.client), await make_user(db, role=Role.contractor)
    contract = await retainer_contract(db, client, contractor, period="week", start=date(2020, 1, 6))
    today = utcnow().date()
    rows = await periods(db, contract)
    assert [m.period_start for m in rows] == [today + timedelta(weeks=n) for n in range(3)]
    assert [m.period_end for m in rows] == [today + timedelta(weeks=n + 1) for n in range(3)]
    assert rows[0].title == f"Week of {today.day} {today.strftime('%b %Y')}"


async def test_the_daily_timer_extends_the_schedule_once_even_run_twice_or_in_parallel(app, db):
    client, contractor = await make_user(db, role=Role.client), await make_user(db, role=Role.contractor)
    contract = await retainer_contract(db, client, contractor, period="month", start=date(2031, 1, 1))
    assert [m.title for m in await periods(db, contract)] == ["January 2031", "February 2031", "March 2031"]
    assert await services.extend(db, contract.id, now=at(date(2031, 1, 20))) == 0  # nothing ended yet
    await db.commit()
    later = at(date(2031, 3, 2))  # January and February ended

    async def run():
        async with app.state.sessionmaker() as s, s.begin():
            return await services.extend(s, contract.id, now=later)

    assert sorted(await asyncio.gather(run(), run())) == [0, 2]
    assert await run() == 0
    rows = await periods(db, contract)
    assert [m.title for m in rows] == [
        "January 2031", "February 2031", "March 2031", "April 2031", "May 2031",
    ]  # fmt: skip
    assert [m.position for m in rows] == [0, 1, 2, 3, 4]
    duplicates = await db.scalar(
        select(func.count()).select_from(
            select(Milestone.period_start)
            .where(Milestone.contract_id == contract.id)
            .group_by(Milestone.period_start)
            .having(func.count() > 1)
            .subquery()
        )
    )
    assert duplicates == 0


async def test_the_timer_task_extends_every_active_retainer_and_leaves_milestone_contracts_alone(app, db):
    from app.retainers.tasks import extend_retainer_schedules
    from tests.contracts.helpers import active_contract

    client, contractor = await make_user(db, role=Role.client), await make_user(db, role=Role.contractor)
    contract = await retainer_contract(db, client, contractor, period="week")
    milestones, _ = await active_contract(db, client, contractor)
    before = await db.scalar(select(func.count()).where(Milestone.contract_id == milestones.id))
    result = await extend_retainer_schedules({"sessionmaker": app.state.sessionmaker})
    assert result == "extended 0 of 1 retainers"  # three weeks ahead already
    assert len(await periods(db, contract)) == 3
    assert await db.scalar(select(func.count()).where(Milestone.contract_id == milestones.id)) == before
