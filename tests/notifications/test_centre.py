"""The notification centre: the bell in the top bar, /notifications (newest first, groups, unread
only, paging), opening one, marking one or all read; only one's own."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import select

from app.notifications import notify
from app.notifications.controllers import PAGE_SIZE
from app.notifications.models import Notification
from app.notifications.services import unread_count

BELL = re.compile(r'<a id="bell"[^>]*aria-label="([^"]*)"[^>]*>(.*?)</a>', re.S)


def bell(html: str) -> tuple[str, str]:
    """The bell's accessible name and the number its badge shows ("" without one)."""
    match = BELL.search(html)
    assert match, "no bell in the top bar"
    badge = re.search(r'class="topbar__bell-badge"[^>]*>([^<]*)<', match.group(2))
    return match.group(1), badge.group(1) if badge else ""


async def funded(db, user, milestone="Logo", link="/contracts/1"):
    row = await notify(db, user, "milestone.funded", link=link, milestone=milestone, amount="€500.00")
    await db.commit()
    return row


async def submitted(db, user, milestone="Logo", link="/contracts/1"):
    """What a client hears: work submitted for their review."""
    row = await notify(db, user, "milestone.submitted", link=link, milestone=milestone, contractor="Cleo")
    await db.commit()
    return row


async def test_the_bell_counts_unread_on_every_page_for_every_role(db, client, contractor, admin):
    assert bell((await contractor.get("/dashboard")).text) == ("Notifications, no unread", "")
    for i in range(3):
        await funded(db, contractor.user, f"Part {i}")
    page = await contractor.get("/dashboard")
    assert bell(page.text) == ("Notifications, 3 unread", "3")
    assert 'hx-trigger="sse:notification"' in page.text and 'hx-get="/notifications/bell"' in page.text
    await submitted(db, client.user)
    assert bell((await client.get("/contracts")).text) == ("Notifications, 1 unread", "1")
    await notify(db, admin.user, "lead.dead_letter", link="/admin/leads", lead_id=7)
    await db.commit()
    assert bell((await admin.get("/admin")).text) == ("Notifications, 1 unread", "1")


async def test_the_bell_says_99_plus_above_99(db, contractor):
    for i in range(100):
        await notify(db, contractor.user, "milestone.funded", link="/c", milestone=f"M{i}", amount="€1")
    await db.commit()
    assert bell((await contractor.get("/dashboard")).text) == ("Notifications, 100 unread", "99+")


async def test_the_bell_block_answers_with_the_current_count(db, contractor):
    response = await contractor.htmx("GET", "/notifications/bell")
    assert response.status_code == 200
    assert bell(response.text) == ("Notifications, no unread", "")
    assert "<html" not in response.text
    await funded(db, contractor.user)
    assert bell((await contractor.htmx("GET", "/notifications/bell")).text) == ("Notifications, 1 unread", "1")


async def test_visitors_are_sent_to_sign_in(anonymous):
    for path in ("/notifications", "/notifications/bell"):
        response = await anonymous.get(path)
        assert response.status_code in (302, 303, 401), path
    assert 'id="bell"' not in (await anonymous.get("/")).text


async def test_the_list_shows_newest_first_with_plain_titles_and_marks_unread(db, contractor):
    first = await funded(db, contractor.user, "Design")
    second = await notify(db, contractor.user, "message.new", link="/messages/x", group="conversation:1",
                          sender="Clara", about="Logo")  # fmt: skip
    await notify(db, contractor.user, "message.new", link="/messages/x", group="conversation:1",
                 sender="Clara", about="Logo")  # fmt: skip
    await db.commit()
    page = await contractor.get("/notifications")
    assert page.status_code == 200
    text = page.text
    # The grouped row says how many messages, and is the newest (it moved up).
    assert text.index("Clara sent you 2 messages about “Logo”.") < text.index("“Design” is funded")
    assert text.count('class="notification notification--unread"') == 2
    assert text.count(">Unread<") == 2
    assert f'href="/notifications/{first.public_id}/open"' in text
    assert f'action="/notifications/{second.public_id}/read"' in text
    assert "<time datetime=" in text
    assert "2 unread" in text and "Mark all as read" in text


async def test_the_stored_title_is_shown_for_a_kind_no_longer_declared(db, contractor):
    row = await funded(db, contractor.user)
    row.kind = "retired.kind"
    row.title = "Something that used to happen."
    await db.commit()
    assert "Something that used to happen." in (await contractor.get("/notifications")).text


async def test_the_empty_list_says_so_in_plain_words(contractor):
    text = (await contractor.get("/notifications")).text
    assert "No notifications yet" in text
    assert "Mark all as read" not in text
    # The bell is the way in: the side navigation does not list it.
    nav = text[text.index('id="site-nav"') :]
    assert "/notifications" not in nav[: nav.index("</nav>")]


async def test_filters_by_group_and_unread(db, contractor):
    await funded(db, contractor.user, "Money thing")
    await notify(db, contractor.user, "proposal.declined", link="/proposals/1", job="Bakery logo")
    read = await notify(db, contractor.user, "proposal.shortlisted", link="/proposals/2", job="Shop photos")
    await db.commit()
    await contractor.post_form(f"/notifications/{read.public_id}/read")

    money = (await contractor.get("/notifications?group=money")).text
    assert "Money thing" in money and "Bakery logo" not in money
    assert re.search(r'href="/notifications\?group=money"\s+aria-current="page"', money)
    # A contractor is not offered the admins' group.
    assert "Marketplace operations" not in money

    proposals = (await contractor.get("/notifications?group=proposals")).text
    assert "Bakery logo" in proposals and "Shop photos" in proposals and "Money thing" not in proposals

    unread = (await contractor.get("/notifications?group=proposals&unread=1")).text
    assert "Bakery logo" in unread and "Shop photos" not in unread
    assert "Show read ones too" in unread

    everything = (await contractor.get("/notifications?group=nonsense")).text
    assert all(t in everything for t in ("Money thing", "Bakery logo", "Shop photos"))
    assert re.search(r'href="/notifications"\s+aria-current="page">All<', everything)

    nothing = (await contractor.get("/notifications?group=messages")).text
    assert "No notifications match what you chose" in nothing


async def test_older_ones_come_a_page_at_a_time(db, contractor):
    for i in range(PAGE_SIZE + 5):
        await notify(db, contractor.user, "milestone.funded", link="/c", milestone=f"Part {i:02d}", amount="€1")
    await db.commit()
    first = (await contractor.get("/notifications")).text
    assert "Part 24" in first and "Part 05" in first and "Part 04" not in first
    older = re.search(r'<a href="(/notifications\?before=[^"]+)" hx-get="([^"]+)"', first)
    assert older and "Show older" in first
    plain = (await contractor.get(older.group(1).replace("&amp;", "&"))).text
    assert "Part 04" in plain and "Part 00" in plain and "Part 05" not in plain
    assert "Back to the newest" in plain and "Show older" not in plain
    more = await contractor.htmx("GET", older.group(2).replace("&amp;", "&"))
    assert more.status_code == 200 and "<html" not in more.text
    assert "Part 04" in more.text and more.text.strip().startswith("<li")


async def test_opening_one_marks_it_read_and_goes_to_its_object(db, contractor):
    row = await funded(db, contractor.user, link="/contracts/7#milestones")
    response = await contractor.get(f"/notifications/{row.public_id}/open")
    assert response.status_code == 303
    assert response.headers["location"] == "/contracts/7#milestones"
    await db.refresh(row)
    assert row.read_at is not None
    assert await unread_count(db, contractor.user.id) == 0


async def test_opening_never_leaves_the_site(db, contractor):
    for link in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "evil"):
        row = await funded(db, contractor.user, link=link)
        response = await contractor.get(f"/notifications/{row.public_id}/open")
        assert response.status_code == 303
        assert response.headers["location"] == "/notifications", link


async def test_mark_one_read_with_htmx_and_without(db, contractor):
    one = await funded(db, contractor.user, "One")
    two = await funded(db, contractor.user, "Two")
    response = await contractor.htmx("POST", f"/notifications/{one.public_id}/read",
                                     data={"back": "/notifications?group=money"})  # fmt: skip
    assert response.status_code == 200
    assert response.text.strip().startswith(f'<li id="n-{one.public_id}" class="notification">')
    assert "Mark as read" not in response.text and "“One” is funded" in response.text

    plain = await contractor.post_form(f"/notifications/{two.public_id}/read", {"back": "/notifications?group=money"})
    assert plain.status_code == 303 and plain.headers["location"] == "/notifications?group=money"
    elsewhere = await contractor.post_form(f"/notifications/{two.public_id}/read", {"back": "https://evil.example/"})
    assert elsewhere.headers["location"] == "/notifications"
    assert await unread_count(db, contractor.user.id) == 0


async def test_mark_one_read_needs_the_csrf_token(db, contractor):
    row = await funded(db, contractor.user)
    response = await contractor.post(f"/notifications/{row.public_id}/read", data={})
    assert response.status_code == 403
    assert await unread_count(db, contractor.user.id) == 1


async def test_mark_all_read(db, client, contractor):
    for i in range(3):
        await funded(db, contractor.user, f"Part {i}")
    theirs = await submitted(db, client.user)
    response = await contractor.post_form("/notifications/read-all", {"back": "/notifications?unread=1"})
    assert response.status_code == 303 and response.headers["location"] == "/notifications?unread=1"
    page = (await contractor.get("/notifications?unread=1")).text
    assert "Marked 3 notifications as read." in page
    assert bell(page) == ("Notifications, no unread", "")
    await db.refresh(theirs)
    assert theirs.read_at is None  # someone else's stay unread


async def test_a_double_submitted_mark_all_changes_once(db, contractor):
    for i in range(5):
        await funded(db, contractor.user, f"Part {i}")
    uid = contractor.user.id
    token = await contractor.csrf_token()
    answers = await asyncio.gather(
        *(contractor.post("/notifications/read-all", data={"_csrf_token": token}) for _ in range(2))
    )
    assert [a.status_code for a in answers] == [303, 303]
    db.expire_all()
    moments = set((await db.scalars(select(Notification.read_at).where(Notification.user_id == uid))).all())
    assert len(moments) == 1 and None not in moments  # one statement marked them all
    from tests.notifications.test_notify import _signals

    assert [s for s in await _signals(db, uid) if "read" in s] == [{"read": 5}]


async def test_another_persons_notification_is_not_found(db, client, contractor, admin):
    row = await funded(db, contractor.user)
    for someone in (client, admin):
        assert (await someone.get(f"/notifications/{row.public_id}/open")).status_code == 404
        assert (await someone.post_form(f"/notifications/{row.public_id}/read")).status_code == 404
        assert row.public_id not in (await someone.get("/notifications")).text
    await db.refresh(row)
    assert row.read_at is None
    assert (await contractor.get("/notifications/ntf_nosuchthing/open")).status_code == 404


async def test_admins_see_their_own_only(db, contractor, admin):
    await funded(db, contractor.user, "Contractor's own")
    await notify(db, admin.user, "reconciliation.mismatch", link="/admin/reconciliation", day="1 May 2030",
                 differences="2 rows")  # fmt: skip
    await db.commit()
    page = (await admin.get("/notifications")).text
    assert "The books and the payment provider differ in 2 rows for 1 May 2030." in page
    assert "Contractor's own" not in page
    assert "Marketplace operations" in page


async def test_a_notification_with_the_bell_turned_off_is_not_listed(db, contractor):
    from app.notifications.models import NotificationPreference

    db.add(NotificationPreference(user_id=contractor.user.id, kind="milestone.funded", in_app=False, email=True))
    await db.commit()
    row = await funded(db, contractor.user, "Quiet")
    page = (await contractor.get("/notifications")).text
    assert "Quiet" not in page
    assert (await contractor.get(f"/notifications/{row.public_id}/open")).status_code == 404


async def test_hostile_input_is_refused_or_ignored(db, contractor):
    row = await funded(db, contractor.user, "Still here")
    for value in ("%00", "caf%C3%A9", "%E2%80%AE", "x" * 5000, "%FF%FE", "money%00"):
        for query in (f"group={value}", f"before={value}", f"unread={value}"):
            response = await contractor.get(f"/notifications?{query}")
            assert 400 <= response.status_code < 500 or "Still here" in response.text, query
            assert response.status_code < 500
    # A URL of a megabyte is refused by any HTTP server before us: 8 KB there, 1 MB in a form.
    assert (await contractor.get(f"/notifications?group={'g' * 8192}&before={'b' * 8192}")).status_code == 200
    for path in ("/notifications/read-all", f"/notifications/{row.public_id}/read"):
        response = await contractor.post_form(path, {"back": "x" * 1_000_000})
        assert response.status_code < 500
    for value in ("%00", "ntf_%C3%A9", "x" * 5000, "..%2F..%2Fadmin"):
        assert 400 <= (await contractor.get(f"/notifications/{value}/open")).status_code < 500
        assert 400 <= (await contractor.post_form(f"/notifications/{value}/read")).status_code < 500
    response = await contractor.post_form("/notifications/read-all", {"back": "\x00" + "é" * 1000})
    assert 400 <= response.status_code < 500
