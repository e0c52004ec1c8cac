"""The timers of waiting e-mails: a kind's delay (new messages after 10 minutes unless read) and
the daily digest at 08:00 in the person's time zone. Driven by calling the timers with a ctx and
an explicit `now`; the test worker runs the e-mail jobs they queue for real."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from app.accounts.models import User, UserStatus
from app.db import utcnow
from app.notifications import notify
from app.notifications.digest import send_digest_email, send_digests, send_waiting_emails
from app.notifications.kinds import kinds_for
from app.notifications.models import EmailState, Notification, NotificationDigest, NotificationSettings
from app.notifications.services import mark_read
from app.notifications.tasks import send_notification_email
from app.worker.models import OutboxJob
from tests.support.polling import wait_for

NINE_UTC = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)


def ctx_of(app) -> dict:
    return {"sessionmaker": app.state.sessionmaker, "settings": app.state.settings}


async def jobs_done(db, function: str) -> list[OutboxJob]:
    """Wait until every queued `function` job has run (sent or skipped), and return them."""

    async def check():
        query = select(OutboxJob).where(OutboxJob.function == function).execution_options(populate_existing=True)
        rows = (await db.scalars(query)).all()
        return rows if all(r.done_at is not None for r in rows) else None

    return await wait_for(check, what=f"the {function} jobs")


async def digest_on(db, user: User, time_zone: str = "UTC") -> User:
    db.add(NotificationSettings(user_id=user.id, daily_digest=True))
    me = await db.get(User, user.id)
    me.time_zone = time_zone
    await db.commit()
    return me


async def states(db) -> list[str]:
    return list((await db.scalars(select(Notification.email).order_by(Notification.id))).all())


# ---------------------------------------------------------------- e-mails after a delay


async def message(db, user, about="Logo"):
    made = await notify(db, user, "message.new", link=f"/messages/{about}", group=f"conversation:{about}",
                        sender="Clara", about=about)  # fmt: skip
    await db.commit()
    return made


async def test_a_waiting_email_goes_out_once_its_delay_passed_and_only_once(app, db, contractor, smtp_server):
    user = await db.get(User, contractor.user.id)
    row = await message(db, user)
    assert row.email == EmailState.later
    assert await send_waiting_emails(ctx_of(app), now=utcnow() + timedelta(minutes=9)) == "queued 0, skipped 0"
    assert await states(db) == ["later"]
    later = utcnow() + timedelta(minutes=11)
    # Two runs at once, and a third after: one e-mail.
    results = await asyncio.gather(*(send_waiting_emails(ctx_of(app), now=later) for _ in range(2)))
    assert sorted(results) == ["queued 0, skipped 0", "queued 1, skipped 0"]
    assert await send_waiting_emails(ctx_of(app), now=later) == "queued 0, skipped 0"
    [mail] = await smtp_server.wait_for(1)
    assert mail["Subject"] == "New message from Clara about “Logo”"
    await jobs_done(db, "send_notification_email")
    assert await states(db) == ["sent"] and len(smtp_server.messages) == 1


async def test_a_waiting_email_read_meanwhile_is_skipped(app, db, contractor, smtp_server):
    user = await db.get(User, contractor.user.id)
    await message(db, user)
    await mark_read(db, user, group="conversation:Logo")
    await db.commit()
    assert await send_waiting_emails(ctx_of(app), now=utcnow() + timedelta(minutes=11)) == "queued 0, skipped 1"
    assert await states(db) == ["skipped"]
    assert await db.scalar(select(func.count()).select_from(OutboxJob)) == 0
    assert smtp_server.messages == []


async def test_a_suspended_person_gets_no_email(app, db, contractor, smtp_server):
    user = await db.get(User, contractor.user.id)
    await message(db, user)
    user.status = UserStatus.suspended
    await db.commit()
    assert await send_waiting_emails(ctx_of(app), now=utcnow() + timedelta(minutes=11)) == "queued 0, skipped 1"
    assert await states(db) == ["skipped"]
    # The e-mail task itself checks too (a row made "now" before the suspension).
    user.status = UserStatus.active
    now_row = await notify(db, user, "milestone.released", link="/c", milestone="A", amount="€1")
    user.status = UserStatus.suspended
    await db.commit()
    await jobs_done(db, "send_notification_email")
    assert (await db.get(Notification, now_row.id, populate_existing=True)).email == EmailState.skipped
    assert smtp_server.messages == []
    assert await send_notification_email(ctx_of(app), notification_id=now_row.id) == "skipped: skipped"


# ---------------------------------------------------------------- the daily digest


async def test_a_burst_of_100_goes_out_in_one_digest_even_when_two_runs_race(app, db, contractor, smtp_server):
    user = await digest_on(db, contractor.user)
    for n in range(100):
        await notify(db, user, "milestone.funded", link=f"/contracts/{n}", milestone=f"Step {n}", amount="€10.00")
    await db.commit()
    assert set(await states(db)) == {"digest"}
    assert smtp_server.messages == [], "nothing is e-mailed before the digest"
    results = await asyncio.gather(send_digests(ctx_of(app), now=NINE_UTC), send_digests(ctx_of(app), now=NINE_UTC))
    assert sorted(results) == ["digests 0, skipped 0", "digests 1, skipped 0"]
    assert await send_digests(ctx_of(app), now=NINE_UTC + timedelta(minutes=5)) == "digests 0, skipped 0"
    [digest] = (await db.scalars(select(NotificationDigest))).all()
    assert digest.local_day == date(2030, 3, 4) and digest.items == 100
    rows = (await db.scalars(select(Notification))).all()
    assert {r.email for r in rows} == {EmailState.digested} and {r.digest_id for r in rows} == {digest.id}
    [mail] = await smtp_server.wait_for(1)
    await jobs_done(db, "send_digest_email")
    assert len(smtp_server.messages) == 1
    assert mail["Subject"] == "Your Pactline summary: 100 updates"
    text = mail.get_body(("plain",)).get_content()
    for n in range(100):
        assert text.count(f"“Step {n}” is funded: €10.00 is held in escrow.") == 1
        assert f"/contracts/{n}\r\n" in text
    assert "Escrow and payments" in text
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = mail.get_body(("html",)).get_content()
    assert html.count("<li") == 100
    assert (await db.get(NotificationDigest, digest.id, populate_existing=True)).sent_at is not None


async def test_the_digest_waits_for_0800_in_the_persons_time_zone(app, db, contractor, smtp_server):
    user = await digest_on(db, contractor.user, "America/New_York")  # UTC−5 in winter
    await notify(db, user, "milestone.funded", link="/c", milestone="Logo", amount="€1")
    await db.commit()
    ten_to_eight = datetime(2030, 1, 10, 12, 50, tzinfo=UTC)
    assert await send_digests(ctx_of(app), now=ten_to_eight) == "digests 0, skipped 0"
    assert await states(db) == ["digest"]
    assert await send_digests(ctx_of(app), now=ten_to_eight + timedelta(minutes=15)) == "digests 1, skipped 0"
    assert (await db.scalar(select(NotificationDigest.local_day))) == date(2030, 1, 10)
    [mail] = await smtp_server.wait_for(1)
    assert mail["Subject"] == "Your Pactline summary: 1 update"


async def test_an_unknown_time_zone_counts_as_utc(app, db, contractor, smtp_server):
    user = await digest_on(db, contractor.user, "Atlantis/Capital")
    await notify(db, user, "milestone.funded", link="/c", milestone="Logo", amount="€1")
    await db.commit()
    assert await send_digests(ctx_of(app), now=NINE_UTC - timedelta(hours=1, minutes=1)) == "digests 0, skipped 0"
    assert await send_digests(ctx_of(app), now=NINE_UTC) == "digests 1, skipped 0"
    await smtp_server.wait_for(1)


async def test_one_digest_a_day_what_comes_later_waits_for_tomorrow(app, db, contractor, smtp_server):
    user = await digest_on(db, contractor.user)
    await notify(db, user, "milestone.funded", link="/c", milestone="First", amount="€1")
    await db.commit()
    assert await send_digests(ctx_of(app), now=NINE_UTC) == "digests 1, skipped 0"
    await notify(db, user, "milestone.released", link="/c", milestone="Second", amount="€1")
    await db.commit()
    assert await send_digests(ctx_of(app), now=NINE_UTC + timedelta(hours=10)) == "digests 0, skipped 0"
    assert await states(db) == ["digested", "digest"]
    assert await send_digests(ctx_of(app), now=NINE_UTC + timedelta(days=1)) == "digests 1, skipped 0"
    mails = await smtp_server.wait_for(2)
    assert sorted(m["Subject"] for m in mails) == ["Your Pactline summary: 1 update"] * 2
    texts = sorted(m.get_body(("plain",)).get_content() for m in mails)
    assert sum("First" in t for t in texts) == 1 and sum("Second" in t for t in texts) == 1


async def test_turning_the_digest_off_sends_what_waits_in_the_next_digest(app, db, contractor, smtp_server):
    user = await digest_on(db, contractor.user)
    await notify(db, user, "milestone.funded", link="/c", milestone="Waiting", amount="€1")
    await db.commit()
    form = {f"{c}:{k.name}": "on" for k in kinds_for("contractor") for c in ("in_app", "email")}
    form["daily_digest"] = "off"
    assert (await contractor.post_form("/settings/notifications", form)).status_code == 303
    me = await db.get(User, user.id, populate_existing=True)
    now_row = await notify(db, me, "milestone.released", link="/c", milestone="Now", amount="€1")
    await db.commit()
    assert now_row.email == EmailState.now, "new e-mails go out as they happen"
    [first] = await smtp_server.wait_for(1)
    assert first["Subject"] == "Payment released: Now"
    await jobs_done(db, "send_notification_email")
    assert await states(db) == ["digest", "sent"], "the waiting one was not sent in a burst"
    assert await send_digests(ctx_of(app), now=NINE_UTC) == "digests 1, skipped 0"
    mails = await smtp_server.wait_for(2)
    assert mails[1]["Subject"] == "Your Pactline summary: 1 update"
    assert "“Waiting” is funded" in mails[1].get_body(("plain",)).get_content()


async def test_a_suspended_person_gets_no_digest(app, db, contractor, smtp_server):
    user = await digest_on(db, contractor.user)
    await notify(db, user, "milestone.funded", link="/c", milestone="A", amount="€1")
    await db.commit()
    user.status = UserStatus.suspended
    await db.commit()
    assert await send_digests(ctx_of(app), now=NINE_UTC) == "digests 0, skipped 1"
    assert await states(db) == ["skipped"]
    assert await db.scalar(select(func.count()).select_from(NotificationDigest)) == 0
    # A digest made just before the suspension: its e-mail task skips it.
    user.status = UserStatus.active
    await db.commit()
    await notify(db, user, "milestone.funded", link="/c", milestone="B", amount="€1")
    digest = NotificationDigest(user_id=user.id, local_day=date(2030, 3, 4), items=1)
    db.add(digest)
    await db.flush()
    row = await db.scalar(select(Notification).where(Notification.email == EmailState.digest))
    row.email, row.digest_id = EmailState.digested, digest.id
    user.status = UserStatus.suspended
    await db.commit()
    assert await send_digest_email(ctx_of(app), digest_id=digest.id) == "skipped: the account is suspended"
    assert smtp_server.messages == []
    assert (await db.get(Notification, row.id, populate_existing=True)).email == EmailState.skipped


async def test_the_digests_unsubscribe_link_turns_every_email_and_the_digest_off(
    app, db, anonymous, contractor, smtp_server
):
    user = await digest_on(db, contractor.user)
    await notify(db, user, "milestone.funded", link="/c", milestone="A", amount="€1")
    await notify(db, user, "payout.sent", link="/earnings", amount="€9")
    await db.commit()
    assert await send_digests(ctx_of(app), now=NINE_UTC) == "digests 1, skipped 0"
    [mail] = await smtp_server.wait_for(1)
    text = mail.get_body(("plain",)).get_content()
    assert text.index("Escrow and payments") < text.index("Your payout of €9 is on its way to your bank.")
    url = re.fullmatch(r"<(.+)>", mail["List-Unsubscribe"]).group(1)
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]
    assert path in text
    assert (await anonymous.post(path, data={"List-Unsubscribe": "One-Click"})).status_code == 200
    assert await db.scalar(select(NotificationSettings.daily_digest)) is False
    me = await db.get(User, user.id, populate_existing=True)
    made = await notify(db, me, "milestone.funded", link="/c", milestone="B", amount="€1")
    assert made.email == EmailState.none
