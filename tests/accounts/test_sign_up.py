"""Sign-up: validation with messages next to fields, verification e-mail, unverified banner."""

from sqlalchemy import select

from app.accounts.models import AccountEvent, Role, User
from tests.accounts.helpers import link_in

GOOD_PASSWORD = "tangerine orbit lantern 42"


async def test_sign_up_sends_a_verification_link_that_confirms_the_address(anonymous, db, smtp_server):
    response = await anonymous.post_form(
        "/signup",
        {"name": "Ada Lovelace", "email": "Ada@Example.test", "password": GOOD_PASSWORD, "role": "contractor"},
    )
    assert response.status_code == 303
    user = await db.scalar(select(User).where(User.email == "ada@example.test"))
    assert user.role == Role.contractor and user.email_verified_at is None

    dashboard = await anonymous.get("/dashboard?welcome=1")
    assert dashboard.status_code == 200
    assert "Confirm your e-mail address" in dashboard.text  # the unverified banner

    (message,) = await smtp_server.wait_for(1)
    assert message["To"] == "ada@example.test"
    link = link_in(message, "/verify-email/")
    confirmed = await anonymous.get(link)
    assert confirmed.status_code == 200
    await db.refresh(user)
    assert user.email_verified_at is not None
    assert "Confirm your e-mail address" not in (await anonymous.get("/dashboard")).text
    kinds = (await db.scalars(select(AccountEvent.kind).where(AccountEvent.user_id == user.id))).all()
    assert {"signed_up", "email_verified"} <= set(kinds)


async def test_problems_are_shown_next_to_their_fields(anonymous, db):
    response = await anonymous.post_form(
        "/signup", {"name": "", "email": "not-an-email", "password": "short", "role": "client"}
    )
    assert response.status_code == 422
    html = response.text
    assert "Enter your name." in html
    assert "Enter an e-mail address like name@example.com." in html
    assert "Use at least 12 characters." in html
    assert 'aria-invalid="true"' in html
    assert await db.scalar(select(User).limit(1)) is None


async def test_common_passwords_are_refused(anonymous):
    response = await anonymous.post_form(
        "/signup", {"name": "Sam", "email": "sam@example.test", "password": "password1234", "role": "client"}
    )
    assert response.status_code == 422
    assert "most common" in response.text


async def test_an_existing_address_is_explained_not_duplicated(anonymous, db, client):
    response = await anonymous.post_form(
        "/signup", {"name": "Copy", "email": client.user.email.upper(), "password": GOOD_PASSWORD, "role": "client"}
    )
    assert response.status_code == 422
    assert "already exists" in response.text
    assert len((await db.scalars(select(User))).all()) == 1


async def test_nobody_signs_up_as_admin(anonymous, db):
    response = await anonymous.post_form(
        "/signup", {"name": "Mallory", "email": "m@example.test", "password": GOOD_PASSWORD, "role": "admin"}
    )
    assert response.status_code == 422
    assert await db.scalar(select(User).where(User.role == Role.admin)) is None


async def test_password_strength_hint_updates_as_you_type(anonymous):
    weak = await anonymous.htmx("POST", "/signup/password-strength", data={"password": "aaaaaaaaaaaa"})
    strong = await anonymous.htmx("POST", "/signup/password-strength", data={"password": GOOD_PASSWORD})
    assert weak.status_code == strong.status_code == 200
    assert "Very weak" in weak.text or "Weak" in weak.text
    assert "Strong" in strong.text or "Very strong" in strong.text


async def test_sign_up_is_rate_limited_per_address(anonymous):
    for n in range(10):
        await anonymous.post_form(
            "/signup", {"name": "", "email": f"x{n}@example.test", "password": "", "role": "client"}
        )
    blocked = await anonymous.post_form(
        "/signup", {"name": "X", "email": "x@example.test", "password": GOOD_PASSWORD, "role": "client"}
    )
    assert blocked.status_code == 429
    assert "try again in" in blocked.text
