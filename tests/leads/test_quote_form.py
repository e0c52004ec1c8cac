"""The public "Request a quote" form: a request waits for its requester to confirm by an e-mailed
link, then becomes a draft job — on a new client account, or on the existing one under that
address. Whoever sends the form, nothing reaches an account before that confirmation, and the
form answers the same whether the address has an account or not."""

import asyncio
import hashlib
from datetime import timedelta

from sqlalchemy import func, select, update

from app.accounts.models import Role, User
from app.db import utcnow
from app.leads import services
from app.leads.controllers import FORM_PER_EMAIL, FORM_PER_IP
from app.leads.models import Lead, LeadStatus
from app.marketplace.models import Job
from tests.accounts.helpers import link_in
from tests.leads.test_api import wait_for_status

REQUEST = {
    "title": "Translate our menu",
    "description": "Translate a two-page restaurant menu from German to English.",
    "budget": "about 200 euros",
    "name": "Mia Koch",
    "email": "mia@example.test",
}


def neutral(text: str, email: str) -> str:
    return text.replace(email, "<address>").replace("&#39;", "'")


async def confirmation_link(smtp_server, email: str) -> str:
    for _ in range(200):
        for mail in list(smtp_server.messages):
            if mail["To"] == email and "Confirm your request" in mail["Subject"]:
                return link_in(mail, "/quote/confirm/")
        await asyncio.sleep(0.05)
    raise AssertionError(f"no confirmation e-mail to {email}")


async def jobs(db) -> int:
    return await db.scalar(select(func.count()).select_from(Job))


async def test_a_visitor_confirms_by_e_mail_and_gets_a_link_to_their_draft_job(anonymous, db, smtp_server):
    page = await anonymous.get("/quote")
    assert page.status_code == 200 and "Request a quote" in page.text
    response = await anonymous.post_form("/quote", REQUEST)
    assert response.status_code == 200 and "Check your e-mail to confirm your request" in response.text
    link = await confirmation_link(smtp_server, "mia@example.test")
    lead = await db.scalar(select(Lead))
    assert lead.status == LeadStatus.unconfirmed
    # Before the link is followed there is no account and no job.
    assert await db.scalar(select(User).where(User.email == "mia@example.test")) is None
    assert await jobs(db) == 0

    shown = await anonymous.get(link)
    assert shown.status_code == 200 and "Translate our menu" in shown.text and "Confirm my request" in shown.text
    assert await jobs(db) == 0  # opening the link (a mail scanner does) confirms nothing
    smtp_server.messages.clear()
    confirmed = await anonymous.post_form(link)
    assert confirmed.status_code == 200 and "Your request is confirmed" in confirmed.text

    await wait_for_status(db, lead.id, {"published"})
    user = await db.scalar(select(User).where(User.email == "mia@example.test"))
    assert user.role == Role.client and user.password_hash is None
    assert user.email_verified_at is not None  # following our link proved the address
    (mail,) = await smtp_server.wait_for(1)
    assert mail["To"] == "mia@example.test"
    assert "/reset/" in link_in(mail, "/reset/")


async def test_nothing_reaches_an_existing_account_until_its_owner_confirms(app, anonymous, client, db, smtp_server):
    response = await anonymous.post_form("/quote", REQUEST | {"email": "Client@Example.test"})
    assert response.status_code == 200 and "Check your e-mail" in response.text
    link = await confirmation_link(smtp_server, "Client@Example.test")
    lead = await db.scalar(select(Lead))

    # Even a worker that picks the lead up (a replay, a stray job) leaves it alone.
    async with app.state.sessionmaker() as session:
        untouched, _ = await services.process(session, lead.id)
        await session.commit()
    assert untouched.status == LeadStatus.unconfirmed and untouched.job_id is None
    assert await jobs(db) == 0
    assert "Translate our menu" not in (await client.get("/jobs/mine")).text

    assert (await anonymous.post_form(link)).status_code == 200
    lead = await wait_for_status(db, lead.id, {"published"})
    job = await db.get(Job, lead.job_id)
    assert job.client_id == client.user.id and job.status == "draft"
    assert await db.scalar(select(func.count()).select_from(User)) == 1  # no second account


async def test_the_form_answers_the_same_whether_the_address_has_an_account(anonymous, client, db, smtp_server):
    known = await anonymous.post_form("/quote", REQUEST | {"email": "client@example.test"})
    unknown = await anonymous.post_form("/quote", REQUEST | {"email": "nobody@example.test"})
    assert known.status_code == unknown.status_code == 200
    assert neutral(known.text, "client@example.test") == neutral(unknown.text, "nobody@example.test")
    await smtp_server.wait_for(2)
    subjects = {mail["To"]: mail["Subject"] for mail in smtp_server.messages}
    assert subjects["client@example.test"] == subjects["nobody@example.test"]
    assert await db.scalar(select(User).where(User.email == "nobody@example.test")) is None


async def test_the_link_token_is_stored_hashed_and_travels_in_no_job(app, anonymous, db, smtp_server):
    await anonymous.post_form("/quote", REQUEST)
    link = await confirmation_link(smtp_server, "mia@example.test")
    token = link.rsplit("/", 1)[1]
    lead = await db.scalar(select(Lead))
    assert lead.confirm_token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr([getattr(lead, c.key) for c in Lead.__table__.columns])
    # SAQ keeps jobs (with their arguments) in Redis: the token is in none of them.
    redis = app.state.redis
    async for key in redis.scan_iter(count=500):
        if await redis.type(key) in (b"string", "string"):
            assert token.encode() not in (await redis.get(key) or b""), key


async def test_a_request_nobody_confirms_expires_and_never_becomes_a_job(app, anonymous, db, smtp_server):
    from app.leads.tasks import requeue_stuck_leads

    await anonymous.post_form("/quote", REQUEST)
    link = await confirmation_link(smtp_server, "mia@example.test")
    await db.execute(update(Lead).values(confirm_expires_at=utcnow() - timedelta(minutes=1)))
    await db.commit()

    shown = await anonymous.get(link)
    assert "This link has expired" in shown.text and "Send the request again" in shown.text
    late = await anonymous.post_form(link)
    assert late.status_code == 200 and "This link has expired" in late.text

    await requeue_stuck_leads({"sessionmaker": app.state.sessionmaker, "queue": app.state.queue})
    lead = await db.scalar(select(Lead).execution_options(populate_existing=True))
    assert lead.status == LeadStatus.expired and lead.confirmed_at is None
    assert await jobs(db) == 0
    assert await db.scalar(select(User).where(User.email == "mia@example.test")) is None


async def test_a_double_click_on_confirm_makes_one_job(anonymous, db, smtp_server):
    await anonymous.post_form("/quote", REQUEST)
    link = await confirmation_link(smtp_server, "mia@example.test")
    first, second = await asyncio.gather(anonymous.post_form(link), anonymous.post_form(link))
    assert first.status_code == second.status_code == 200
    lead = await wait_for_status(db, (await db.scalar(select(Lead.id))), {"published"})
    await asyncio.sleep(0.3)  # a second processing job would have run by now
    assert await jobs(db) == 1 and lead.job_id is not None


async def test_a_wrong_or_strange_link_is_not_found(anonymous):
    for token in ("nope", "A" * 43, "ü" * 43, "%00" * 10, "x" * 5000):
        response = await anonymous.get(f"/quote/confirm/{token}")
        # A NUL byte in the path is refused before routing (400); nothing is looked up either way.
        assert response.status_code == (400 if "%00" in token else 404), token
        assert (await anonymous.post_form(f"/quote/confirm/{token}")).status_code == (400 if "%00" in token else 404)


async def test_one_address_gets_a_few_confirmation_e_mails_a_day(anonymous, db, smtp_server):
    for n in range(FORM_PER_EMAIL.attempts):
        sent = await anonymous.post_form("/quote", REQUEST | {"title": f"Request {n}", "email": "MIA@example.test "})
        assert sent.status_code == 200
    refused = await anonymous.post_form("/quote", REQUEST | {"email": "mia@example.test"})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 3600
    assert "already e-mailed this address several confirmation links today" in refused.text
    assert await db.scalar(select(func.count()).select_from(Lead)) == FORM_PER_EMAIL.attempts
    # Another address is not affected.
    assert (await anonymous.post_form("/quote", REQUEST | {"email": "other@example.test"})).status_code == 200


async def test_one_network_sends_a_limited_number_of_requests(anonymous, db):
    for n in range(FORM_PER_IP.attempts):
        sent = await anonymous.post_form("/quote", REQUEST | {"email": f"person{n}@example.test"})
        assert sent.status_code == 200
    refused = await anonymous.post_form("/quote", REQUEST | {"email": "one.more@example.test"})
    assert refused.status_code == 429 and "Too many requests from your network" in refused.text
    assert await db.scalar(select(func.count()).select_from(Lead)) == FORM_PER_IP.attempts


async def test_missing_fields_are_explained_and_nothing_is_stored(anonymous, db):
    response = await anonymous.post_form("/quote", {"title": "", "description": "", "name": "", "email": "x"})
    assert response.status_code == 422
    assert "Describe the work you need." in response.text and "Enter an e-mail address" in response.text
    assert await db.scalar(select(Lead)) is None


async def test_hostile_input_gets_a_clear_refusal_never_a_server_error(anonymous, db, smtp_server):
    cases = [
        (REQUEST | {"title": "Menu\x00"}, 400, "control character"),  # refused before the form is read
        (REQUEST | {"email": "mia\x00@example.test"}, 400, "control character"),
        (REQUEST | {"description": "x" * 1_000_000}, 422, "At most 10000 characters."),
        (REQUEST | {"email": "a@" + "b." * 200_000 + "@"}, 422, "At most 320 characters."),
        (REQUEST | {"name": "Zoë Ærøskøbing", "title": "Übersetzung ☕", "email": "zoë@exämple.test"}, 200, "Check"),
    ]
    for form, status, words in cases:
        response = await anonymous.post_form("/quote", form)
        assert response.status_code == status, (form["email"][:40], response.text[:300])
        assert words in response.text.replace("&#39;", "'")
    assert await db.scalar(select(func.count()).select_from(Lead)) == 1
    await confirmation_link(smtp_server, "zoë@exämple.test")


async def test_parallel_double_submits_each_ask_for_confirmation_and_make_one_job(anonymous, db, smtp_server):
    answers = await asyncio.gather(*[anonymous.post_form("/quote", REQUEST) for _ in range(2)])
    assert [a.status_code for a in answers] == [200, 200]
    await smtp_server.wait_for(2)
    links = [link_in(m, "/quote/confirm/") for m in smtp_server.messages]
    for link in links:
        assert (await anonymous.post_form(link)).status_code == 200
    leads = (await db.scalars(select(Lead.id).order_by(Lead.id))).all()
    first = await wait_for_status(db, leads[0], {"published", "duplicate"})
    second = await wait_for_status(db, leads[1], {"published", "duplicate"})
    assert sorted([first.status, second.status]) == ["duplicate", "published"]
    assert await jobs(db) == 1


async def test_bots_filling_the_hidden_field_are_quietly_ignored(anonymous, db):
    response = await anonymous.post_form(
        "/quote",
        {
            "title": "Cheap pills",
            "description": "x" * 30,
            "name": "Bot",
            "email": "bot@example.test",
            "website": "http://spam",
        },
    )
    assert response.status_code == 200
    assert await db.scalar(select(Lead)) is None
