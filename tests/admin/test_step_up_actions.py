"""Creating an admin and suspending someone need a fresh code, and the person concerned is told."""

from sqlalchemy import func, select

from app.accounts.models import Role, User, UserStatus
from tests.accounts.helpers import age_session, next_code, text_part
from tests.conftest import ADMIN_TOTP

USERS_PAGE = {"Referer": "http://testserver/admin/users"}


async def test_creating_an_admin_asks_for_a_fresh_code_then_emails_the_new_admin(app, admin, db, smtp_server):
    await age_session(app, admin)  # the console was left open an hour ago
    form = {"name": "Second Admin", "email": "second@example.test"}
    asked = await admin.post_form("/admin/admins", form, headers=USERS_PAGE)
    assert asked.status_code == 303 and asked.headers["location"] == "/settings/confirm?next=/admin/users"
    assert await db.scalar(select(func.count()).select_from(User).where(User.role == Role.admin)) == 1

    confirmed = await admin.post_form("/settings/confirm", {"code": next_code(ADMIN_TOTP), "next": "/admin/users"})
    assert confirmed.status_code == 303 and confirmed.headers["location"] == "/admin/users"
    created = await admin.post_form("/admin/admins", form, headers=USERS_PAGE)
    assert created.status_code == 303 and created.headers["location"] == "/admin/users"
    new_admin = await db.scalar(select(User).where(User.email == "second@example.test"))
    assert new_admin.role == Role.admin

    (message,) = await smtp_server.wait_for(1)
    assert message["To"] == "second@example.test"
    assert message["Subject"] == "You are now a Pactline admin"
    body = text_part(message)
    assert f"{admin.user.name} added you to the Pactline admin team" in body and "/reset/" in body


async def test_suspending_asks_for_a_fresh_code_then_emails_the_suspended_person(app, admin, client, db, smtp_server):
    await age_session(app, admin)
    reason = {"reason": "Payment fraud investigation"}
    asked = await admin.post_form(f"/admin/users/{client.user.id}/suspend", reason, headers=USERS_PAGE)
    assert asked.status_code == 303 and asked.headers["location"] == "/settings/confirm?next=/admin/users"
    assert (await client.get("/dashboard")).status_code == 200, "nothing happened yet"
    assert smtp_server.messages == []

    await admin.post_form("/settings/confirm", {"code": next_code(ADMIN_TOTP), "next": "/admin/users"})
    done = await admin.post_form(f"/admin/users/{client.user.id}/suspend", reason, headers=USERS_PAGE)
    assert done.status_code == 303 and done.headers["location"] == "/admin/users"
    user = await db.scalar(select(User).where(User.id == client.user.id).execution_options(populate_existing=True))
    assert user.status == UserStatus.suspended

    (message,) = await smtp_server.wait_for(1)
    assert message["To"] == client.user.email
    assert message["Subject"] == "Your Pactline account was suspended"
    body = text_part(message)
    assert "suspended your Pactline account" in body
    assert "fraud" not in body, "the admins' reason stays with the admins"


async def test_a_stale_console_session_cannot_confirm_with_a_code_it_already_used(app, admin, db):
    """The code the admin signed in with is spent: an attacker who saw it cannot reuse it to step up."""
    from app.accounts.mfa import totp

    await age_session(app, admin)
    replay = await admin.post_form("/settings/confirm", {"code": totp(ADMIN_TOTP).now(), "next": "/admin/users"})
    assert replay.status_code == 422
    asked = await admin.post_form("/admin/admins", {"name": "X", "email": "x@example.test"}, headers=USERS_PAGE)
    assert asked.status_code == 303 and asked.headers["location"].startswith("/settings/confirm")
