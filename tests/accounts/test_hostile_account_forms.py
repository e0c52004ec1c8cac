"""Every account form, attacked: NUL and other control characters (400), non-ASCII and 1 MB
fields (a message, never a 5xx), and double-submits racing each other."""

import asyncio

from sqlalchemy import func, select

from app.accounts.mfa import enable as enable_mfa
from app.accounts.models import User
from tests.accounts.helpers import reset_token
from tests.accounts.test_settings import confirm
from tests.conftest import web_client
from tests.support.factories import PASSWORD, make_user

HOSTILE = {
    "nul": "a\x00b",
    "escape": "\x1b[31mred",
    "non-ascii": "Zoë 漢字 😀 \u202e",
    "1 MB": "a" * 1_000_000,
    "1 MB non-ascii": "é" * 500_000,
}
BASE = {"email": "someone@example.test", "password": "saffron tundra piano", "name": "Sam", "role": "client"}


async def attack(app, c, url: str, fields: list[str]) -> list[str]:
    problems = []
    for field in fields:
        for label, value in HOSTILE.items():
            response = await c.post_form(url, {**BASE, field: value})
            control = label in ("nul", "escape")
            if response.status_code >= 500 or (control and response.status_code != 400):
                problems.append(f"{url} {field}={label}: {response.status_code}")
        for key in await app.state.redis.keys("ratelimit:*"):  # keep limits out of the way
            await app.state.redis.delete(key)
    return problems


async def test_visitor_forms_refuse_control_characters_and_survive_huge_or_foreign_text(app, anonymous, client, db):
    token = await reset_token(db, app, client.user.id)
    await db.commit()
    problems = []
    problems += await attack(app, anonymous, "/login", ["email", "password", "next", "remember"])
    problems += await attack(app, anonymous, "/signup", ["name", "email", "password", "role", "next"])
    problems += await attack(app, anonymous, "/signup/password-strength", ["password", "name", "email"])
    problems += await attack(app, anonymous, "/reset", ["email"])
    problems += await attack(app, anonymous, f"/reset/{token}", ["password"])
    assert problems == []


async def test_signed_in_forms_refuse_control_characters_and_survive_huge_or_foreign_text(app, client):
    await confirm(client)
    problems = []
    problems += await attack(app, client, "/settings/password", ["current_password", "new_password"])
    problems += await attack(app, client, "/settings/email", ["email"])
    problems += await attack(app, client, "/settings/confirm", ["password", "code", "next"])
    problems += await attack(app, client, "/settings/mfa", ["code", "next"])
    assert problems == []


async def test_the_two_step_form_refuses_control_characters_and_survives_huge_codes(app, anonymous, db):
    user = await make_user(db)
    await enable_mfa(db, user, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", app.state.settings.secret_key)
    await db.commit()
    await anonymous.post_form("/login", {"email": user.email, "password": PASSWORD})
    assert await attack(app, anonymous, "/login/mfa", ["code", "recovery_code", "next"]) == []


async def test_a_double_clicked_sign_up_makes_one_account_and_explains_the_rest(anonymous, db):
    await anonymous.csrf_token()
    data = {"name": "Twin", "email": "twin@example.test", "password": "saffron tundra piano", "role": "client"}
    answers = await asyncio.gather(*(anonymous.post_form("/signup", data) for _ in range(3)))
    assert sorted(r.status_code for r in answers) == [303, 422, 422]
    assert all("An account with this e-mail already exists" in r.text for r in answers if r.status_code == 422)
    assert await db.scalar(select(func.count()).select_from(User)) == 1


async def test_a_double_submitted_reset_link_changes_the_password_once(app, client, db):
    token = await reset_token(db, app, client.user.id)
    await db.commit()
    async with web_client(app) as visitor:
        await visitor.csrf_token()
        answers = await asyncio.gather(
            *(visitor.post_form(f"/reset/{token}", {"password": "lantern quiet harbour"}) for _ in range(3))
        )
    assert sorted(r.status_code for r in answers) == [303, 400, 400]


async def test_a_double_submitted_password_change_changes_it_once(client):
    await confirm(client)
    answers = await asyncio.gather(
        *(
            client.post_form(
                "/settings/password", {"current_password": PASSWORD, "new_password": "saffron tundra piano"}
            )
            for _ in range(3)
        )
    )
    assert sorted(r.status_code for r in answers) == [303, 422, 422]
