"""Account journeys in a real browser: sign up on a phone, confirm the e-mail, sign in again;
an admin passes two-step sign-in on a desktop."""

import pytest
from playwright.async_api import expect

from app.accounts.mfa import totp
from tests.accounts.helpers import link_in
from tests.conftest import ADMIN_TOTP
from tests.support.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser


async def test_sign_up_confirm_e_mail_and_sign_in_again_on_a_phone(phone, smtp_server):
    await phone.goto("/")
    await phone.get_by_role("link", name="Get started").first.click()
    await expect(phone.get_by_role("heading", name="Create your account")).to_be_visible()

    await phone.get_by_text("I want to work").click()
    await phone.get_by_label("Your full name").fill("Noor Haddad")
    await phone.get_by_label("Email").fill("noor@example.test")
    await phone.get_by_label("Password").fill("short")
    await phone.get_by_role("button", name="Create account").click()
    # The problem is shown next to the field, and what was typed is kept.
    await expect(phone.get_by_text("Use at least 12 characters.").first).to_be_visible()
    await expect(phone.get_by_label("Email")).to_have_value("noor@example.test")

    await phone.get_by_label("Password").fill("saffron kayak meridian 31")
    await expect(phone.locator("#password-strength")).to_contain_text("Strength")
    await phone.get_by_role("button", name="Create account").click()
    await phone.wait_for_url("**/dashboard**")
    await expect(phone.get_by_text("Confirm your e-mail address.")).to_be_visible()

    (message,) = await smtp_server.wait_for(1)
    await phone.goto(link_in(message, "/verify-email/"))
    await expect(phone.get_by_role("heading", name="Your e-mail address is confirmed")).to_be_visible()
    await phone.goto("/dashboard")
    await expect(phone.get_by_text("Confirm your e-mail address.")).to_have_count(0)

    await phone.get_by_role("button", name="Sign out").click()
    await phone.goto("/login")
    await phone.get_by_label("Email").fill("noor@example.test")
    await phone.get_by_label("Password").fill("saffron kayak meridian 31")
    await phone.get_by_role("button", name="Sign in").click()
    await expect(phone.get_by_role("heading", name="Hello, Noor Haddad")).to_be_visible()
    assert phone.problems.errors == [], phone.problems.errors


async def test_an_admin_passes_two_step_sign_in_to_reach_the_console(desktop, db, app):
    from app.accounts.mfa import enable
    from app.accounts.models import Role

    admin = await make_user(db, role=Role.admin, name="Ada Console")
    await enable(db, admin, ADMIN_TOTP, app.state.settings.secret_key)
    await db.commit()

    await desktop.goto("/admin")
    await desktop.wait_for_url("**/login?next=/admin")
    await desktop.get_by_label("Email").fill(admin.email)
    await desktop.get_by_label("Password").fill(PASSWORD)
    await desktop.get_by_role("button", name="Sign in").click()
    await expect(desktop.get_by_role("heading", name="Enter your sign-in code")).to_be_visible()
    await desktop.get_by_label("Sign-in code").fill("000000")
    await desktop.get_by_role("button", name="Continue").click()
    await expect(desktop.get_by_text("That code is not right").first).to_be_visible()
    await desktop.get_by_label("Sign-in code").fill(totp(ADMIN_TOTP).now())
    await desktop.get_by_role("button", name="Continue").click()
    await expect(desktop.get_by_role("heading", name="Overview")).to_be_visible()
    assert desktop.problems.errors == [], desktop.problems.errors
