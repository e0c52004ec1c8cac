"""The notification e-mails that wait: a kind's delay (`email_after`, e.g. new messages are
e-mailed after 10 minutes unless read first) and the daily digest (one e-mail a day at 08:00 in
the person's time zone, listing everything that waited for it). Decision 0047.

Every state change is a compare-and-set (`UPDATE … WHERE email = <the state we expect> RETURNING`)
inside the transaction that also writes the e-mail's outbox row, so two runs of a timer at once,
or a run retried after a crash, send each e-mail once and put each row in one digest. No lock is
held while mail is sent: the timers only write outbox rows."""

from __future__ import annotations

import logging
from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, case, false, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User, UserStatus
from app.db import utcnow
from app.mail.services import build_message, deliver
from app.mail.tasks import outbox_message_id
from app.notifications.kinds import GROUPS, KINDS
from app.notifications.models import EmailState, Notification, NotificationDigest, NotificationPreference
from app.notifications.unsubscribe import ALL, list_unsubscribe_headers, make_token, unsubscribe_path
from app.worker.outbox import defer
from app.worker.registry import task

log = logging.getLogger("pactline.notifications")

DIGEST_HOUR = time(8, 0)
BATCH = 500
UTC_ZONE = ZoneInfo("UTC")


def zone_of(name: str | None) -> ZoneInfo:
    """The person's zone; a name this machine does not know counts as UTC."""
    try:
        return ZoneInfo(name) if name else UTC_ZONE
    except (ValueError, OSError, ZoneInfoNotFoundError):
        return UTC_ZONE


def digest_day(time_zone: str | None, now: datetime) -> date | None:
    """The person's local day when their digest is due at `now` (past 08:00 there), else None."""
    local = now.astimezone(zone_of(time_zone))
    return local.date() if local.time() >= DIGEST_HOUR else None


# ---------------------------------------------------------------- e-mails that wait for a delay


async def release_waiting(db: AsyncSession, now: datetime) -> tuple[int, int]:
    """Rows waiting ("later") whose kind's delay has passed: still unread and the person active →
    "now" and the e-mail's outbox row, in this transaction; read meanwhile or the person
    suspended → "skipped". Returns (queued, skipped)."""
    queued = skipped = 0
    # (Several kinds may wait: each has its own delay.)
    delays = {name: kind.email_after for name, kind in KINDS.items() if kind.email_after is not None}
    due = [and_(Notification.kind == name, Notification.created_at <= now - delay) for name, delay in delays.items()]
    unknown = Notification.kind.not_in(list(delays))  # a kind retired or without a delay: nothing to wait for
    while True:
        batch = (
            select(Notification.id)
            .where(Notification.email == EmailState.later, unknown | or_(false(), *due))
            .order_by(Notification.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        active = select(User.id).where(User.id == Notification.user_id, User.status == UserStatus.active).exists()
        send = Notification.read_at.is_(None) & active & Notification.kind.in_(list(delays))
        rows = (
            await db.execute(
                update(Notification)
                .where(Notification.id.in_(batch), Notification.email == EmailState.later)
                .values(email=case((send, EmailState.now), else_=EmailState.skipped))
                .returning(Notification.id, Notification.email)
                .execution_options(synchronize_session=False)
            )
        ).all()
        for row_id, state in rows:
            if state == EmailState.now:
                defer(db, "send_notification_email", notification_id=row_id)
                queued += 1
            else:
                skipped += 1
        if len(rows) < BATCH:
            return queued, skipped


async def send_waiting_emails(ctx: dict, *, now: datetime | None = None) -> str:
    """Every minute: the e-mails whose delay has passed (see `release_waiting`)."""
    async with ctx["sessionmaker"]() as db, db.begin():
        queued, skipped = await release_waiting(db, now or utcnow())
    return f"queued {queued}, skipped {skipped}"


# ---------------------------------------------------------------- the daily digest


async def make_digest(db: AsyncSession, user: User, local_day: date) -> NotificationDigest | None:
    """Today's digest for `user`, with every row waiting for it; None when they have one for
    this day already (a second run, or a run racing this one) or nothing waits any more.

    The digest row comes first: its unique (person, local day) makes a racing run wait for this
    transaction and then find it. The rows move by compare-and-set, so each is in one digest."""
    digest_id = await db.scalar(
        insert(NotificationDigest)
        .values(user_id=user.id, local_day=local_day, items=0, created_at=utcnow())
        .on_conflict_do_nothing(constraint="uq_notification_digests_user_day")
        .returning(NotificationDigest.id)
    )
    if digest_id is None:
        return None
    # A kind whose e-mail the person turned off since (an unsubscribe link) is left out.
    email_off = (
        select(NotificationPreference.kind)
        .where(NotificationPreference.user_id == user.id, NotificationPreference.email.is_(False))
        .scalar_subquery()
    )
    await db.execute(
        update(Notification)
        .where(
            Notification.user_id == user.id,
            Notification.email == EmailState.digest,
            Notification.kind.in_(email_off) | Notification.kind.not_in(list(KINDS)),
        )
        .values(email=EmailState.skipped)
        .execution_options(synchronize_session=False)
    )
    moved = (
        await db.scalars(
            update(Notification)
            .where(Notification.user_id == user.id, Notification.email == EmailState.digest)
            .values(email=EmailState.digested, digest_id=digest_id)
            .returning(Notification.id)
            .execution_options(synchronize_session=False)
        )
    ).all()
    digest = await db.get(NotificationDigest, digest_id)
    assert digest is not None
    if not moved:
        await db.delete(digest)  # nothing to say: a later run today may still have something
        return None
    digest.items = len(moved)
    defer(db, "send_digest_email", digest_id=digest_id)
    return digest


async def send_digests(ctx: dict, *, now: datetime | None = None) -> str:
    """Every five minutes: a digest for each person whose 08:00 has passed today (in their time
    zone) and who has e-mails waiting for it. One transaction per person: one failure does not
    hold back the others, and no lock is kept while the digest's e-mail is sent."""
    now = now or utcnow()
    async with ctx["sessionmaker"]() as db:
        people = (
            await db.execute(
                select(User.id, User.time_zone, User.status).where(
                    User.id.in_(select(Notification.user_id).where(Notification.email == EmailState.digest))
                )
            )
        ).all()
    made = skipped = 0
    for user_id, time_zone, status in people:
        if status != UserStatus.active:
            async with ctx["sessionmaker"]() as db, db.begin():
                await db.execute(
                    update(Notification)
                    .where(Notification.user_id == user_id, Notification.email == EmailState.digest)
                    .values(email=EmailState.skipped)
                    .execution_options(synchronize_session=False)
                )
            skipped += 1
            continue
        local_day = digest_day(time_zone, now)
        if local_day is None:
            continue
        try:
            async with ctx["sessionmaker"]() as db, db.begin():
                user = await db.get(User, user_id)
                if user is not None and await make_digest(db, user, local_day) is not None:
                    made += 1
        except Exception:  # one person's failure must not stop the others'; the next run retries
            log.exception("daily digest of user %s failed", user_id)
    return f"digests {made}, skipped {skipped}"


def digest_sections(rows: list[Notification]) -> list[dict]:
    """The digest's items grouped in the order of GROUPS: [{label, entries: [{title, path}]}]."""
    sections = []
    for group in GROUPS:
        items = [
            {"title": KINDS[r.kind].title_for(r.data, r.count), "path": r.link}
            for r in rows
            if r.kind in KINDS and KINDS[r.kind].group == group.key
        ]
        if items:
            sections.append({"label": group.label, "entries": items})
    return sections


@task(retries=6, retry_delay=5.0, max_delay=1800.0, timeout=60)
async def send_digest_email(ctx: dict, *, digest_id: int) -> str:
    """E-mail one digest unless it went out already or the person is suspended or gone. Items
    whose kind's e-mail the person turned off since the digest was made are left out."""
    settings = ctx["settings"]
    async with ctx["sessionmaker"]() as db, db.begin():
        digest = await db.get(NotificationDigest, digest_id, with_for_update=True)
        user = await db.get(User, digest.user_id) if digest is not None else None
        if digest is None or user is None:
            return "skipped: nothing to send"
        if digest.sent_at is not None:
            return "skipped: sent already"
        rows = (
            await db.scalars(select(Notification).where(Notification.digest_id == digest_id).order_by(Notification.id))
        ).all()
        if not user.is_active:
            await _settle(db, digest_id, EmailState.skipped)
            digest.sent_at = utcnow()
            return "skipped: the account is suspended"
        off = set(
            (
                await db.scalars(
                    select(NotificationPreference.kind).where(
                        NotificationPreference.user_id == user.id, NotificationPreference.email.is_(False)
                    )
                )
            ).all()
        )
        rows = [r for r in rows if r.kind not in off]
        if not rows:
            await _settle(db, digest_id, EmailState.skipped)
            digest.sent_at = utcnow()
            return "skipped: e-mail turned off"
        count = len(rows)
        unsubscribe_url = settings.app_base_url + unsubscribe_path(make_token(settings.secret_key, user.id, ALL))
        context = {
            "name": user.name,
            "count": count,
            "sections": digest_sections(rows),
            "local_day": digest.local_day,
            "unsubscribe_url": unsubscribe_url,
            "kind_label": "the daily digest and every notification e-mail",
        }
        subject = f"Your Pactline summary: {count} update{'' if count == 1 else 's'}"
        to = user.email
    message = build_message(
        settings,
        to=to,
        subject=subject,
        template="notify_digest",
        context=context,
        message_id=outbox_message_id(ctx),
        headers=list_unsubscribe_headers(unsubscribe_url),
    )
    await deliver(settings, message)
    async with ctx["sessionmaker"]() as db, db.begin():
        digest = await db.get(NotificationDigest, digest_id, with_for_update=True)
        if digest is not None and digest.sent_at is None:
            digest.sent_at = utcnow()
            await db.execute(
                update(Notification)
                .where(Notification.digest_id == digest_id, Notification.emailed_at.is_(None))
                .values(emailed_at=digest.sent_at)
                .execution_options(synchronize_session=False)
            )
    return str(message["Message-ID"])


async def _settle(db: AsyncSession, digest_id: int, state: EmailState) -> None:
    await db.execute(
        update(Notification)
        .where(Notification.digest_id == digest_id, Notification.email == EmailState.digested)
        .values(email=state)
        .execution_options(synchronize_session=False)
    )
