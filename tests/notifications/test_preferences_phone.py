"""The preferences page on a 360 px phone: each kind stacks into a card (nothing scrolls
sideways, not even inside the table's box), every box is found by its kind and channel, and
saving works by a plain form post."""

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from app.accounts.models import Role
from app.notifications.models import NotificationPreference, NotificationSettings
from tests.browser.test_small_phone import OVERFLOWING
from tests.support.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser

SIDEWAYS = """() => [...document.querySelectorAll('.table-wrap')]
  .filter(e => e.scrollWidth > e.clientWidth + 0.5).map(e => e.scrollWidth + ' > ' + e.clientWidth)"""


async def test_choosing_notifications_on_a_phone(small_phone, db):
    person = await make_user(db, role=Role.contractor, name="Noor Phone")
    page = small_phone
    await page.goto("/login?next=/settings/notifications")
    await page.get_by_label("Email").fill(person.email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Notifications", exact=True)).to_be_visible()
    assert await page.evaluate(OVERFLOWING) == []
    assert await page.evaluate(SIDEWAYS) == [], "the table scrolls sideways"
    email_box = page.get_by_role("checkbox", name="A milestone you work on is funded: by e-mail")
    await expect(email_box).to_be_checked()
    await email_box.uncheck()
    await page.get_by_label("Send my e-mails once a day, at 08:00 in my time zone").check()
    await page.get_by_role("button", name="Save notification choices").click()
    await expect(page.get_by_text("Your notification choices were saved.")).to_be_visible()
    await expect(page.get_by_role("checkbox", name="A milestone you work on is funded: by e-mail")).not_to_be_checked()
    await expect(page.get_by_role("checkbox", name="A milestone you work on is funded: in the app")).to_be_checked()
    row = await db.scalar(select(NotificationPreference).where(NotificationPreference.user_id == person.id))
    assert (row.kind, row.in_app, row.email) == ("milestone.funded", True, False)
    assert await db.scalar(select(NotificationSettings.daily_digest)) is True
    assert page.problems.errors == [], page.problems.errors
