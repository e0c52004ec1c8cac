"""Password reset: no account enumeration, single-use, one hour, other sessions end."""

from datetime import timedelta

from sqlalchemy import select, update

from app.accounts.models import OneTimeToken, User
from app.db import utcnow
from tests.accounts.helpers import link_in
from tests.support.factories import PASSWORD

NEW_PASSWORD = "marmalade velvet comet 77"


def main_of(html: str, email: str) -> str:
    return html.split("<main", 1)[1].split("</main>", 1)[0].replace(email, "EMAIL")


async def test_the_answer_is_the_same_for_known_and_unknown_addresses(anonymous, client, smtp_server):
    known = await anonymous.post_form("/reset", {"email": client.user.email})
    unknown = await anonymous.post_form("/reset", {"email": "nobody@example.test"})
    assert known.status_code == unknown.status_code == 200
    assert main_of(known.text, client.user.email) == main_of(unknown.text, "nobody@example.test")
    messages = await smtp_server.wait_for(1)
    assert [m["To"] for m in messages] == [client.user.email]


async def test_a_reset_link_works_once_and_ends_other_sessions(anonymous, client, db, smtp_server):
    await anonymous.post_form("/reset", {"email": client.user.email})
    link = link_in((await smtp_server.wait_for(1))[0], "/reset/")
    form = await anonymous.get(link)
    assert form.status_code == 200 and 'name="password"' in form.text

    done = await anonymous.post_form(link, {"password": NEW_PASSWORD})
    assert done.status_code == 303 and done.headers["location"] == "/login?reason=reset"
    # The client's existing session (another device) is over.
    assert (await client.get("/dashboard")).status_code == 303
    # The new password works, the old one does not.
    assert (await anonymous.post_form("/login", {"email": client.user.email, "password": PASSWORD})).status_code == 422
    assert (
        await anonymous.post_form("/login", {"email": client.user.email, "password": NEW_PASSWORD})
    ).status_code == 303

    again = await anonymous.post_form(link, {"password": "another fine password 9"})
    assert again.status_code == 400
    assert "expired or was already used" in again.text


async def test_a_reset_link_expires_after_an_hour(anonymous, client, db, smtp_server):
    await anonymous.post_form("/reset", {"email": client.user.email})
    link = link_in((await smtp_server.wait_for(1))[0], "/reset/")
    token_row = await db.scalar(select(OneTimeToken))
    assert timedelta(minutes=59) < token_row.expires_at - token_row.created_at <= timedelta(hours=1, seconds=5)
    await db.execute(update(OneTimeToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    await db.commit()
    response = await anonymous.post_form(link, {"password": NEW_PASSWORD})
    assert response.status_code == 400
    user = await db.get(User, client.user.id)
    await db.refresh(user)
    assert user.password_changed_at is None


async def test_tokens_are_stored_hashed(anonymous, client, db, smtp_server):
    await anonymous.post_form("/reset", {"email": client.user.email})
    link = link_in((await smtp_server.wait_for(1))[0], "/reset/")
    token = link.rsplit("/", 1)[1]
    row = await db.scalar(select(OneTimeToken))
    assert token not in row.token_hash and len(row.token_hash) == 64
