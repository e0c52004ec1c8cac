"""Passwords longer than zxcvbn's 72 characters: sign-up, reset and change score the first 72 and
accept them; the 200-character cap still answers next to the field."""

from sqlalchemy import select

from app.accounts.models import User
from tests.accounts.helpers import reset_token
from tests.accounts.test_settings import confirm
from tests.support.factories import PASSWORD

# 73+ characters made zxcvbn raise ValueError, which was a 500 on every password form.
LONG = "quiet harbour lantern " * 7  # 154 characters, strong
TOO_LONG = "x7#Kq" * 41  # 205 characters


async def test_sign_up_accepts_a_long_password(anonymous, db):
    response = await anonymous.post_form(
        "/signup", {"name": "Ada Long", "email": "ada@example.test", "password": LONG[:73], "role": "client"}
    )
    assert response.status_code == 303, response.text[:500]
    assert await db.scalar(select(User).where(User.email == "ada@example.test")) is not None


async def test_sign_up_refuses_more_than_200_characters_next_to_the_field(anonymous, db):
    response = await anonymous.post_form(
        "/signup", {"name": "Ada Long", "email": "ada@example.test", "password": TOO_LONG, "role": "client"}
    )
    assert response.status_code == 422
    assert "Use at most 200 characters." in response.text
    assert await db.scalar(select(User).where(User.email == "ada@example.test")) is None


async def test_a_reset_accepts_a_long_password(app, anonymous, client, db):
    token = await reset_token(db, app, client.user.id)
    await db.commit()
    response = await anonymous.post_form(f"/reset/{token}", {"password": LONG})
    assert response.status_code == 303, response.text[:500]
    assert (await anonymous.post_form("/login", {"email": client.user.email, "password": LONG})).status_code == 303


async def test_a_reset_refuses_more_than_200_characters(app, anonymous, client, db):
    token = await reset_token(db, app, client.user.id)
    await db.commit()
    response = await anonymous.post_form(f"/reset/{token}", {"password": TOO_LONG})
    assert response.status_code == 422
    assert "Use at most 200 characters." in response.text


async def test_a_password_change_accepts_a_long_password(client):
    await confirm(client)
    response = await client.post_form("/settings/password", {"current_password": PASSWORD, "new_password": LONG})
    assert response.status_code == 303, response.text[:500]
    client.cookies.clear()
    client._csrf = None
    assert (await client.post_form("/login", {"email": client.user.email, "password": LONG})).status_code == 303


async def test_a_password_change_refuses_more_than_200_characters(client):
    await confirm(client)
    response = await client.post_form("/settings/password", {"current_password": PASSWORD, "new_password": TOO_LONG})
    assert response.status_code == 422
    assert "Use at most 200 characters." in response.text


async def test_a_weak_start_is_judged_on_its_first_72_characters(anonymous):
    # Only the first 72 characters are scored: a long password that starts with a common one
    # padded by repetition is still called too easy to guess.
    weak = "password" * 25
    response = await anonymous.post_form(
        "/signup", {"name": "Ada Long", "email": "ada@example.test", "password": weak, "role": "client"}
    )
    assert response.status_code == 422
    assert "too easy to guess" in response.text
