"""/settings/notifications: the person's kinds with two channels each, the daily digest, saved as
upserts; and the time zone on /settings."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import func, select

from app.accounts.models import User
from app.notifications import notify
from app.notifications.kinds import kinds_for
from app.notifications.models import EmailState, NotificationPreference, NotificationSettings

PAGE = "/settings/notifications"


def ticked(page: str) -> dict[str, bool]:
    """Every checkbox on the page by name: ticked or not."""
    boxes = re.findall(r'<input type="checkbox"[^>]*name="([^"]+)"[^>]*?( checked)?>', page)
    return {name: bool(checked) for name, checked in boxes}


def all_on(role: str, **changes: bool) -> dict[str, str]:
    """The form as a browser sends it with every box ticked, then `changes` (False = unticked)."""
    form = {"daily_digest": "off"}
    for kind in kinds_for(role):
        for channel in ("in_app", "email"):
            form[f"{channel}:{kind.name}"] = "on"
    for name, on in changes.items():
        if not on:
            form.pop(name, None)
    return form


async def test_the_page_lists_the_kinds_of_the_persons_role_with_labels_naming_kind_and_channel(client, contractor):
    page = (await contractor.get(PAGE)).text
    assert "A milestone you work on is funded" in page and "Jobs and proposals" in page
    assert "A contractor sends a proposal for your job" not in page, "a client's kind"
    boxes = ticked(page)
    assert boxes["in_app:milestone.funded"] and boxes["email:milestone.funded"], "defaults: both on"
    assert set(boxes) == {f"{c}:{k.name}" for k in kinds_for("contractor") for c in ("in_app", "email")}
    # Each box has a <label> saying the kind and the channel.
    assert re.search(
        r'<label for="pref-milestone-funded-email"[^>]*>A milestone you work on is funded: by e-mail</label>', page
    )
    assert re.search(
        r'<label for="pref-milestone-funded-app"[^>]*>A milestone you work on is funded: in the app</label>', page
    )
    assert "Send my e-mails once a day, at 08:00 in my time zone" in page and "As they happen" in page
    assert 'href="/settings/notifications"' in (await contractor.get("/settings")).text
    client_page = (await client.get(PAGE)).text
    assert "A contractor sends a proposal for your job" in client_page


async def test_the_page_needs_sign_in_and_every_role_has_it(anonymous, admin):
    assert (await anonymous.get(PAGE)).status_code == 303
    page = await admin.get(PAGE)
    assert page.status_code == 200 and "A lead could not be processed" in page.text
    assert "A milestone you work on is funded" not in page.text


async def test_saving_keeps_the_choices_and_the_digest_and_notify_follows_them(db, contractor):
    form = all_on("contractor", **{"email:milestone.funded": False, "in_app:payout.sent": False})
    form["daily_digest"] = "daily"
    response = await contractor.post_form(PAGE, form)
    assert response.status_code == 303 and response.headers["location"] == PAGE
    rows = {r.kind: (r.in_app, r.email) for r in await db.scalars(select(NotificationPreference))}
    assert rows == {"milestone.funded": (True, False), "payout.sent": (False, True)}, "only what differs is kept"
    assert await db.scalar(select(NotificationSettings.daily_digest)) is True
    page = await contractor.get(PAGE)
    assert "Your notification choices were saved." in page.text
    boxes = ticked(page.text)
    assert not boxes["email:milestone.funded"] and boxes["in_app:milestone.funded"] and not boxes["in_app:payout.sent"]
    assert re.search(r'value="daily" checked', page.text)
    user = await db.get(User, contractor.user.id)
    funded = await notify(db, user, "milestone.funded", link="/c", milestone="Logo", amount="€1")
    released = await notify(db, user, "milestone.released", link="/c", milestone="Logo", amount="€1")
    await db.commit()
    assert funded.email == EmailState.none and released.email == EmailState.digest
    # Back to the defaults: the rows go, the digest is off.
    assert (await contractor.post_form(PAGE, all_on("contractor"))).status_code == 303
    assert await db.scalar(select(func.count()).select_from(NotificationPreference)) == 0
    db.expire_all()
    assert await db.scalar(select(NotificationSettings.daily_digest)) is False


async def test_unknown_kinds_and_hostile_values_are_ignored_never_a_5xx(db, contractor):
    form = all_on("contractor")
    form |= {"email:no.such.kind": "on", "in_app:proposal.received": "on", "email:ü": "ü", "daily_digest": "ü"}
    assert (await contractor.post_form(PAGE, form)).status_code == 303
    assert await db.scalar(select(func.count()).select_from(NotificationPreference)) == 0
    nul = await contractor.post_form(PAGE, {"email:milestone.funded": "\x00", "daily_digest": "daily\x00"})
    assert nul.status_code == 400, "the input guard refuses NUL bytes before anything is read"
    assert await db.scalar(select(func.count()).select_from(NotificationPreference)) == 0
    # Nothing at all: every box unticked (both channels off for each kind), the digest off.
    assert (await contractor.post_form(PAGE, {})).status_code == 303
    rows = (await db.scalars(select(NotificationPreference))).all()
    assert len(rows) == len(kinds_for("contractor")) and not any(r.in_app or r.email for r in rows)
    huge = await contractor.post_form(PAGE, {"email:milestone.funded": "x" * 1_000_000})
    assert huge.status_code < 500


async def test_a_double_submit_at_once_leaves_one_row_per_kind(db, contractor):
    form = all_on("contractor", **{"email:milestone.funded": False, "email:payout.paid": False})
    form["daily_digest"] = "daily"
    answers = await asyncio.gather(*(contractor.post_form(PAGE, form) for _ in range(4)))
    assert [a.status_code for a in answers] == [303] * 4
    kinds = (await db.scalars(select(NotificationPreference.kind).order_by(NotificationPreference.kind))).all()
    assert kinds == ["milestone.funded", "payout.paid"]
    assert await db.scalar(select(func.count()).select_from(NotificationSettings)) == 1


async def test_saving_needs_the_csrf_token(db, contractor):
    response = await contractor.post(PAGE, data=all_on("contractor", **{"email:milestone.funded": False}))
    assert response.status_code == 403
    assert await db.scalar(select(func.count()).select_from(NotificationPreference)) == 0


async def test_the_time_zone_is_shown_saved_and_checked(db, client):
    page = (await client.get("/settings")).text
    assert 'name="time_zone"' in page and 'value="UTC"' in page and '<option value="Europe/Berlin">' in page
    response = await client.post_form("/settings/time-zone", {"time_zone": "Europe/Berlin"})
    assert response.status_code == 303
    assert await db.scalar(select(User.time_zone).where(User.id == client.user.id)) == "Europe/Berlin"
    page = (await client.get("/settings")).text
    assert "Your time zone is now Europe/Berlin." in page and 'value="Europe/Berlin"' in page
    for wrong in ("Mars/Olympus", "", "localtime", "../../etc/passwd", "Zürich", "x" * 5000):
        refused = await client.post_form("/settings/time-zone", {"time_zone": wrong})
        assert refused.status_code == 422, wrong
        assert 'id="field-time_zone-error"' in refused.text and "Choose a time zone from the list" in refused.text
    assert await db.scalar(select(User.time_zone).where(User.id == client.user.id)) == "Europe/Berlin"
    nul = await client.post_form("/settings/time-zone", {"time_zone": "Europe/Berlin\x00"})
    assert nul.status_code == 400, "the input guard refuses NUL bytes"
    assert await db.scalar(select(User.time_zone).where(User.id == client.user.id)) == "Europe/Berlin"
