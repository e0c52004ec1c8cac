"""Before a period starts the client is reminded to fund it (a few days before, and on its first
day), each reminder once; a period whose first day passed unfunded is overdue: both sides see it,
both are told once, and no money moves."""

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import update

from app.accounts.models import Role
from app.contracts.models import Milestone, MilestoneStatus
from app.db import utcnow
from app.escrow.ledger import escrow_balance
from app.money import Money
from app.retainers import services
from app.retainers.tasks import retainer_funding_notices
from tests.retainers.helpers import card, entries_of, periods, retainer_contract
from tests.support.factories import make_user
from tests.support.notifications import (
    count_of,
    forget_notifications,
    html_of,
    mails_where,
    notifications_of,
    signals_of,
    text_of,
)


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


async def test_the_client_is_reminded_three_days_before_and_on_the_first_day_each_once(app, db, smtp_server):
    client, contractor = await make_user(db, role=Role.client), await make_user(db, role=Role.contractor)
    start = date(2031, 3, 1)
    contract = await retainer_contract(db, client, contractor, start=start)
    march, april, _ = await periods(db, contract)
    assert await services.due_for_funding_reminder(db, at(start - timedelta(days=4))) == []
    three_before = at(start - timedelta(days=3))
    assert await services.due_for_funding_reminder(db, three_before) == [march.id]
    for _ in range(2):  # the timer twice: one reminder
        async with app.state.sessionmaker() as s, s.begin():
            for mid in await services.due_for_funding_reminder(s, three_before):
                await services.remind_to_fund(s, mid, now=three_before)
    first_day = at(start, 7)
    assert await services.remind_to_fund(db, march.id, now=first_day) is True
    await db.commit()
    assert await services.remind_to_fund(db, march.id, now=at(start, 20)) is False
    await db.commit()
    told = await notifications_of(db, client.id, "retainer.funding_due")
    assert [n.title for n in told] == [
        "Fund “March 2031” before 1 March 2031: €1,500.00 for your retainer “Booking website”.",
        "Fund “March 2031” today: €1,500.00 for your retainer “Booking website”.",
    ]
    assert {n.link for n in told} == {f"/contracts/{contract.id}#milestone-{march.id}"}
    assert await notifications_of(db, contractor.id, "retainer.funding_due") == []
    march, april, _ = await periods(db, contract)
    assert (march.funding_reminders_sent, april.funding_reminders_sent) == (2, 0)
    assert [s["message"] for s in await signals_of(db, client.id)][-2:] == [n.title for n in told]
    sent = await mails_where(smtp_server, lambda m: m["Subject"].startswith("Fund “"), 2)
    assert sorted((m["To"], m["Subject"]) for m in sent) == [
        (client.email, "Fund “March 2031” before 1 March 2031"),
        (client.email, "Fund “March 2031” today"),
    ]
    for mail in sent:  # both e-mails render, in text and HTML, with their unsubscribe header
        assert "March 2031" in text_of(mail) and "€1,500.00" in html_of(mail) and mail["List-Unsubscribe"]
    assert "started today" in text_of(next(m for m in sent if m["Subject"].endswith("today")))
    assert await entries_of(db, contract.id) == 0


async def test_an_unfunded_period_whose_first_day_passed_is_overdue_for_both_told_once_and_no_money_moves(
    app, db, client, contractor, smtp_server
):
    contract = await retainer_contract(db, client.user, contractor.user)
    # The retainer has been running for five days: its first period started five days ago.
    shift = timedelta(days=5)
    await db.execute(
        update(Milestone)
        .where(Milestone.contract_id == contract.id)
        .values(period_start=Milestone.period_start - shift, period_end=Milestone.period_end - shift,
                due_date=Milestone.due_date - shift)
    )  # fmt: skip
    await db.commit()
    current, nxt, _ = await periods(db, contract)
    ctx = {"sessionmaker": app.state.sessionmaker}
    assert await retainer_funding_notices(ctx) == "reminded 0 of 0; overdue 1 of 1"
    assert await retainer_funding_notices(ctx) == "reminded 0 of 0; overdue 0 of 0"
    told = await mails_where(smtp_server, lambda m: m["Subject"].startswith("Overdue"), 2)
    assert sorted(m["To"] for m in told) == sorted([client.user.email, contractor.user.email])
    assert {m["Subject"] for m in told} == {f"Overdue: “{current.title}” is not funded"}
    for mail in told:
        text = text_of(mail)
        assert "overdue" in text
        assert ("Fund €1,500.00" in text) == (mail["To"] == client.user.email)  # each side's own words
    current, nxt, _ = await periods(db, contract)
    assert current.status == MilestoneStatus.pending and current.overdue_at is not None and nxt.overdue_at is None
    for party in (client, contractor):
        page = (await party.get(f"/contracts/{contract.id}")).text
        mine = card(page, current)
        assert 'data-status="overdue">Overdue</span>' in mine and "No money has moved" in mine
        assert "Overdue" not in card(page, nxt)
        [overdue] = await notifications_of(db, party.user.id, "retainer.overdue")
        assert overdue.title == f"“{current.title}” is overdue: it started on {services.day_text(current.period_start)} and is not funded yet."  # fmt: skip
        assert overdue.link == f"/contracts/{contract.id}#milestone-{current.id}"
    assert await entries_of(db, contract.id) == 0
    assert await escrow_balance(db, contract.id, "EUR") == Money(0, "EUR")
    # The client can still fund it; the card then says Funded, not Overdue.
    from tests.retainers.helpers import fund

    await fund(db, contract, client.user, current)
    mine = card((await contractor.get(f"/contracts/{contract.id}")).text, current)
    assert "Overdue" not in mine and 'data-status="funded">Funded</span>' in mine
    assert utcnow().date() > current.period_start


async def test_a_reminder_whose_transaction_fails_keeps_no_notification_and_goes_out_next_time(app, db):
    client, contractor = await make_user(db, role=Role.client), await make_user(db, role=Role.contractor)
    start = date(2031, 3, 1)
    contract = await retainer_contract(db, client, contractor, start=start)
    await forget_notifications(db)  # the contract's own (proposal, sent, signed)
    march, *_ = await periods(db, contract)
    three_before = at(start - timedelta(days=3))
    async with app.state.sessionmaker() as s:
        assert await services.remind_to_fund(s, march.id, now=three_before) is True
        await s.rollback()
    assert await count_of(db, "retainer.funding_due") == 0
    assert await signals_of(db, client.id) == []
    async with app.state.sessionmaker() as s, s.begin():
        assert await services.remind_to_fund(s, march.id, now=three_before) is True
    assert len(await notifications_of(db, client.id, "retainer.funding_due")) == 1
