"""The public "Request a quote" form: a visitor's request becomes a draft job on a new client account."""

from sqlalchemy import select

from app.accounts.models import Role, User
from app.leads.models import Lead
from tests.accounts.helpers import link_in
from tests.leads.test_api import wait_for_status


async def test_a_visitor_requests_a_quote_and_gets_a_link_to_their_draft_job(anonymous, db, smtp_server):
    page = await anonymous.get("/quote")
    assert page.status_code == 200 and "Request a quote" in page.text
    response = await anonymous.post_form(
        "/quote",
        {
            "title": "Translate our menu",
            "description": "Translate a two-page restaurant menu from German to English.",
            "budget": "about 200 euros",
            "name": "Mia Koch",
            "email": "mia@example.test",
        },
    )
    assert response.status_code == 200 and "we've got your request" in response.text.replace("&#39;", "'")
    lead = await db.scalar(select(Lead))
    lead = await wait_for_status(db, lead.id, {"published"})
    user = await db.scalar(select(User).where(User.email == "mia@example.test"))
    assert user.role == Role.client and user.password_hash is None
    (mail,) = await smtp_server.wait_for(1)
    assert mail["To"] == "mia@example.test"
    assert "/reset/" in link_in(mail, "/reset/")


async def test_missing_fields_are_explained_and_nothing_is_stored(anonymous, db):
    response = await anonymous.post_form("/quote", {"title": "", "description": "", "name": "", "email": "x"})
    assert response.status_code == 422
    assert "Describe the work you need." in response.text and "Enter an e-mail address" in response.text
    assert await db.scalar(select(Lead)) is None


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
