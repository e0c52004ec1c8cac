"""Invitations can't relay spam: only a confirmed address sends them, a person sends a limited
number an hour and a company a limited number a day; odd input is refused, never a server error."""

import asyncio
import time

from sqlalchemy import func, select

from app.accounts.models import Role
from app.accounts.services import EMAIL_PATTERN
from app.companies import limits
from app.companies.models import Invitation
from app.web.ratelimit import RateLimiter
from tests.companies.test_create_company import ACME
from tests.conftest import web_client
from tests.support.factories import make_user


async def invite(client, email, kind="contractor", message="We'd love to work with you."):
    return await client.post_form("/company/invitations", {"kind": kind, "email": email, "message": message})


async def invitations(db) -> int:
    return await db.scalar(select(func.count()).select_from(Invitation))


async def test_an_unconfirmed_address_cannot_send_invitations(app, db, smtp_server):
    user = await make_user(db, role=Role.client, email="new.owner@example.test", verified=False)
    async with web_client(app) as owner:
        await owner.sign_in(user.email)
        assert (await owner.post_form("/company", ACME)).status_code == 303
        refused = await invite(owner, "someone@example.test")
        assert refused.status_code == 422
        assert "Confirm your own e-mail address before you invite anyone" in refused.text
        assert "The invitation was not sent" in refused.text
    assert await invitations(db) == 0
    await asyncio.sleep(0.3)
    assert not [m for m in smtp_server.messages if m["To"] == "someone@example.test"]


async def test_a_person_sends_a_limited_number_of_invitations_an_hour(app, client, db, smtp_server):
    await client.post_form("/company", ACME)
    for n in range(2):
        assert (await invite(client, f"person{n}@example.test")).status_code == 303
    # The invitations above counted; fill the rest of the hour's allowance through the same counter.
    limiter = RateLimiter(app.state.redis)
    for _ in range(limits.PER_USER.attempts - 2):
        await limiter.hit(limits.PER_USER, str(client.user.id))
    refused = await invite(client, "one.more@example.test", message="Buy cheap watches")
    assert refused.status_code == 429 and 0 < int(refused.headers["retry-after"]) <= 3600
    assert f"You have sent {limits.PER_USER.attempts} invitations in the last hour" in refused.text
    assert "Buy cheap watches" in refused.text  # what they typed is kept
    assert await invitations(db) == 2
    await smtp_server.wait_for(2)
    await asyncio.sleep(0.3)
    assert not [m for m in smtp_server.messages if m["To"] == "one.more@example.test"]


async def test_a_company_sends_a_limited_number_of_invitations_a_day(app, client, db):
    await client.post_form("/company", ACME)
    from app.companies.services import membership_of

    membership = await membership_of(db, client.user)
    limiter = RateLimiter(app.state.redis)
    for _ in range(limits.PER_COMPANY.attempts):
        await limiter.hit(limits.PER_COMPANY, str(membership.company.id))
    refused = await invite(client, "someone@example.test")
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 3600
    assert f"Your company has sent {limits.PER_COMPANY.attempts} invitations today" in refused.text
    assert await invitations(db) == 0


async def test_odd_input_is_refused_with_a_message_never_a_server_error(client, db):
    await client.post_form("/company", ACME)
    cases = [
        ({"email": "mia\x00@example.test"}, "control character"),
        ({"email": "a@" + "b." * 500_000 + "@"}, "Enter an e-mail address"),  # 1 MB
        ({"email": "mia@example.test", "message": "Hi\x00"}, "control character"),
        ({"email": "mia@example.test", "message": "x" * 1_000_000}, "Keep the message under 2000 characters"),
        ({"email": "mia@example.test", "job_id": "１２"}, "Choose one of your own jobs"),  # full-width 12
        ({"email": "mia@example.test", "job_id": "²"}, "Choose one of your own jobs"),  # isdigit(), not int()
        ({"email": "mia@example.test", "job_id": "9" * 5000}, "Choose one of your own jobs"),  # past bigint
    ]
    for fields, words in cases:
        started = time.monotonic()
        response = await client.post_form("/company/invitations", {"kind": "contractor", "message": ""} | fields)
        assert time.monotonic() - started < 20  # a hang (minutes before the fix), not a timing
        if words is None:
            assert response.status_code == 303
        else:
            # A NUL byte is refused for the whole request (400) before the form is read.
            assert response.status_code == (400 if "\\x00" in repr(fields) else 422), response.text[:300]
            assert words in response.text
    ok = await invite(client, "zoë@exämple.test", message="Grüße ☕")
    assert ok.status_code == 303
    assert await invitations(db) == 1  # only zoë's: every odd one was refused


async def test_parallel_double_submits_answer_without_server_errors(client, db):
    await client.post_form("/company", ACME)
    answers = await asyncio.gather(*[invite(client, "mia@example.test") for _ in range(4)])
    assert {a.status_code for a in answers} == {303}
    pending = (await db.scalars(select(Invitation).where(Invitation.revoked_at.is_(None)))).all()
    assert len(pending) >= 1


def test_the_e_mail_pattern_takes_no_time_on_a_long_hostile_address():
    started = time.monotonic()
    assert EMAIL_PATTERN.match("a@" + "b." * 500_000 + "@") is None
    assert time.monotonic() - started < 5  # quadratic backtracking took minutes
    assert EMAIL_PATTERN.match("mia@example.test")
