"""/unsubscribe/<token> (RFC 8058): the page changes nothing, the one-click POST turns one kind's
e-mail off (or every e-mail and the digest for "all") without sign-in or CSRF token, and any
token that does not check out gets a 400 page and changes nothing."""

from __future__ import annotations

import asyncio
import logging
import re
import time

from sqlalchemy import func, select

from app.accounts.models import User
from app.notifications import notify
from app.notifications.kinds import kinds_for
from app.notifications.models import NotificationPreference, NotificationSettings
from app.notifications.unsubscribe import ALL, LIFETIME_SECONDS, make_token
from app.platform.secret_links import redact
from tests.conftest import web_client

ONE_CLICK = {"List-Unsubscribe": "One-Click"}
REFUSED = "This unsubscribe link does not work"


def token_for(app, user_id: int, kind: str, **kwargs) -> str:
    return make_token(app.state.settings.secret_key, user_id, kind, **kwargs)


async def _preferences(db):
    db.expire_all()
    return {r.kind: (r.in_app, r.email) for r in await db.scalars(select(NotificationPreference))}


async def test_opening_the_link_shows_what_stops_and_changes_nothing(app, db, anonymous, contractor):
    token = token_for(app, contractor.user.id, "milestone.funded")
    page = await anonymous.get(f"/unsubscribe/{token}")
    assert page.status_code == 200
    assert "e-mails when a milestone you work on is funded" in page.text
    assert re.search(rf'<form method="post" action="/unsubscribe/{re.escape(token)}"', page.text)
    assert "Stop these e-mails" in page.text
    assert await _preferences(db) == {}


async def test_one_click_post_with_the_rfc_body_and_no_csrf_token_turns_that_email_off(app, db, contractor):
    user_id = contractor.user.id
    db.add(NotificationPreference(user_id=user_id, kind="milestone.funded", in_app=False, email=True))
    await db.commit()
    token = token_for(app, user_id, "milestone.funded")
    async with web_client(app) as mail_program:  # no cookies, no session, no CSRF token
        answer = await mail_program.post(f"/unsubscribe/{token}", data=ONE_CLICK)
    assert answer.status_code == 200
    assert "You will no longer get" in answer.text and 'href="/settings/notifications"' in answer.text
    assert await _preferences(db) == {"milestone.funded": (False, False)}, "the in-app choice is kept"
    # Twice, and four at once: the same result, one row.
    async with web_client(app) as again:
        answers = await asyncio.gather(*(again.post(f"/unsubscribe/{token}", data=ONE_CLICK) for _ in range(4)))
    assert [a.status_code for a in answers] == [200] * 4
    assert await _preferences(db) == {"milestone.funded": (False, False)}
    # notify() now keeps the in-app row... which is off too here: nothing is kept at all.
    user = await db.get(User, user_id)
    assert await notify(db, user, "milestone.funded", link="/c", milestone="A", amount="€1") is None


async def test_the_pages_button_works_like_one_click(app, db, anonymous, client):
    token = token_for(app, client.user.id, "milestone.submitted")
    answer = await anonymous.post(f"/unsubscribe/{token}", data={})
    assert answer.status_code == 200
    assert await _preferences(db) == {"milestone.submitted": (True, False)}


async def test_all_turns_every_email_and_the_digest_off(app, db, anonymous, contractor):
    db.add(NotificationSettings(user_id=contractor.user.id, daily_digest=True))
    await db.commit()
    token = token_for(app, contractor.user.id, ALL)
    page = await anonymous.get(f"/unsubscribe/{token}")
    assert "every notification e-mail and the daily digest" in page.text
    assert (await anonymous.post(f"/unsubscribe/{token}", data=ONE_CLICK)).status_code == 200
    prefs = await _preferences(db)
    assert prefs == {k.name: (k.in_app, False) for k in kinds_for("contractor")}
    assert await db.scalar(select(NotificationSettings.daily_digest)) is False


async def test_links_that_do_not_check_out_get_a_400_page_and_change_nothing(app, db, anonymous, contractor):
    user_id = contractor.user.id
    good = token_for(app, user_id, "milestone.funded")
    payload, mac = good.split(".")
    other_kind = token_for(app, user_id, "payout.paid").split(".")[0] + "." + mac  # another kind, this signature
    bad = {
        "forged": make_token("not-our-secret-key-" * 3, user_id, "milestone.funded"),
        "damaged": good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"),
        "expired": token_for(app, user_id, "milestone.funded", now=time.time() - LIFETIME_SECONDS - 60),
        "other kind": other_kind,
        "a kind the role does not get": token_for(app, user_id, "proposal.received"),
        "unknown kind": token_for(app, user_id, "no.such.kind"),
        "no dot": payload,
        "non-ASCII": "ü" * 40,
        "10 KB": "A" * 10_240,
        "percent signs": "%25%25%25",
    }
    for what, token in bad.items():
        for method in ("GET", "POST"):
            answer = await anonymous.request(
                method, f"/unsubscribe/{token}", data=ONE_CLICK if method == "POST" else None
            )
            assert answer.status_code == 400, (what, method, answer.status_code)
            assert REFUSED in answer.text, what
    nul = await anonymous.post("/unsubscribe/abc%00def", data=ONE_CLICK)
    assert 400 <= nul.status_code < 500
    assert await _preferences(db) == {}


async def test_a_deleted_persons_link_gets_the_400_page(app, db, anonymous, contractor):
    token = token_for(app, contractor.user.id, "milestone.funded")
    await db.delete(await db.get(User, contractor.user.id))
    await db.commit()
    answer = await anonymous.post(f"/unsubscribe/{token}", data=ONE_CLICK)
    assert answer.status_code == 400 and REFUSED in answer.text
    assert await db.scalar(select(func.count()).select_from(NotificationPreference)) == 0


async def test_the_email_sent_by_notify_carries_a_working_link(app, db, anonymous, contractor, smtp_server, caplog):
    user = await db.get(User, contractor.user.id)
    await notify(db, user, "milestone.funded", link="/contracts/1", milestone="Logo", amount="€500.00")
    await db.commit()
    [mail] = await smtp_server.wait_for(1)
    url = re.fullmatch(r"<(.+)>", mail["List-Unsubscribe"]).group(1)
    path = url.split("://", 1)[1].split("/", 1)[1]
    text = mail.get_body(("plain",)).get_content()
    assert f"/{path}" in text, "the footer has the same link"
    with caplog.at_level(logging.INFO):
        assert (await anonymous.get(f"/{path}")).status_code == 200
        assert (await anonymous.post(f"/{path}", data=ONE_CLICK)).status_code == 200
    assert await _preferences(db) == {"milestone.funded": (True, False)}
    token = path.removeprefix("unsubscribe/")
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("pactline")]  # httpx is the test's own
    assert any("/unsubscribe/[redacted]" in line for line in ours)
    assert not any(token in line for line in ours), "the token is not logged"
    assert redact(f"POST /unsubscribe/{token} 200") == "POST /unsubscribe/[redacted] 200"
    assert redact(f"GET https://x.test%2Funsubscribe%2F{token}") == "GET https://x.test%2Funsubscribe%2F[redacted]"
