"""An admin on a 360 px phone: the reconciliation page shows a mismatch as soon as the run finds
it (no reload), its rows fit the screen, and "Acknowledge" works from the refreshed block."""

import pytest
from playwright.async_api import expect
from sqlalchemy import delete

from app.accounts.mfa import enable, totp
from app.accounts.models import Role
from app.payments.models import SandboxRefund
from tests.browser.test_live_blocks import not_reloaded, open_and_wait
from tests.browser.test_small_phone import OVERFLOWING
from tests.conftest import ADMIN_TOTP
from tests.payments.reconciliation_support import a_days_money, run_for_today
from tests.support.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser


async def test_a_mismatch_appears_live_on_a_phone_and_is_acknowledged(small_phone, db, app):
    admin = await make_user(db, role=Role.admin, name="Ada Console")
    await enable(db, admin, ADMIN_TOTP, app.state.settings.secret_key)
    await db.commit()
    page = small_phone
    await page.goto("/login?next=/admin")
    await page.get_by_label("Email").fill(admin.email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_label("Sign-in code").fill(totp(ADMIN_TOTP).now())
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    marker = await open_and_wait(page, "/admin/reconciliation")
    await expect(page.get_by_text("No runs yet")).to_be_visible()

    day = await a_days_money(app, db)
    await db.execute(delete(SandboxRefund).where(SandboxRefund.idempotency_key == day.refund_key))
    await db.commit()
    await run_for_today(app)

    await expect(page.get_by_text("No refund with this key.")).to_be_visible(timeout=10_000)
    await expect(page.get_by_text("2 rows differ")).to_be_visible()
    await not_reloaded(page, marker)
    assert await page.evaluate(OVERFLOWING) == []  # nothing sticks out of 360 px
    await page.get_by_role("button", name="Acknowledge").click()
    await expect(page.get_by_text("are acknowledged")).to_be_visible()
    await expect(page.get_by_text("By Ada Console")).to_be_visible()
    await expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
    assert page.problems.errors == [], page.problems.errors
