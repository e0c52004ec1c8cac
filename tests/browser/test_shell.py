"""The layout in a real browser: both viewports, phone navigation, live updates, CSP-clean."""

import pytest
from playwright.async_api import expect

from app.accounts.models import Role
from app.events import publish
from tests.support.browser import no_horizontal_scroll, sign_in
from tests.support.factories import make_user

pytestmark = pytest.mark.browser


async def test_landing_page_renders_cleanly(any_viewport, db):
    page = any_viewport
    await page.goto("/")
    await expect(page.get_by_role("heading", level=1)).to_be_visible()
    await expect(page.get_by_role("link", name="Get started").first).to_be_visible()
    assert await no_horizontal_scroll(page)
    assert page.problems.errors == [], page.problems.errors


async def test_phone_navigation_opens_and_leads_somewhere(phone, db):
    user = await make_user(db, role=Role.client, name="Pat Phone")
    await sign_in(phone, user.email)
    nav = phone.get_by_role("navigation", name="Main")
    menu = phone.get_by_role("button", name="Menu")
    await expect(menu).to_have_attribute("aria-expanded", "false")
    await expect(nav.get_by_role("link", name="Dashboard")).to_be_hidden()
    await menu.click()
    await expect(menu).to_have_attribute("aria-expanded", "true")
    await expect(nav.get_by_role("link", name="Dashboard")).to_be_visible()
    await nav.get_by_role("link", name="Dashboard").click()
    await expect(phone.get_by_text("Pat Phone").first).to_be_visible()
    assert await no_horizontal_scroll(phone)
    assert phone.problems.errors == [], phone.problems.errors


async def test_desktop_shows_the_sidebar_without_a_menu_button(desktop, db):
    user = await make_user(db, role=Role.contractor)
    await sign_in(desktop, user.email)
    await expect(desktop.get_by_role("navigation", name="Main").get_by_role("link", name="Settings")).to_be_visible()
    await expect(desktop.get_by_role("button", name="Menu")).to_be_hidden()


async def test_a_published_event_appears_without_reload(any_viewport, db):
    """A signal ("job-match", only the job's id) makes the dashboard re-fetch its live list."""
    from app.marketplace.services import create_job
    from app.profiles.services import ensure_profile
    from tests.marketplace.test_announce_jobs import job_input

    page = any_viewport
    user = await make_user(db, role=Role.contractor)
    owner = await make_user(db, role=Role.client)
    (await ensure_profile(db, user)).skills = ["illustration"]
    await db.commit()
    await sign_in(page, user.email)
    await page.goto("/dashboard")
    await page.wait_for_function("document.body.hasAttribute('sse-connect')")
    # Wait for the stream to be open before publishing.
    await page.wait_for_timeout(500)
    marker = await page.evaluate("window.performance.timeOrigin")

    await create_job(db, owner, job_input(["illustration"]), publish_now=True)
    await db.commit()

    feed = page.locator("#live-feed")
    await expect(feed.get_by_role("link", name="Logo for a bakery")).to_be_visible(timeout=10_000)
    await expect(feed).to_contain_text("New job matching your skills")
    assert await page.evaluate("window.performance.timeOrigin") == marker, "the page did not reload"
    assert page.problems.errors == [], page.problems.errors


async def test_a_toast_event_shows_a_toast(desktop, db):
    user = await make_user(db, role=Role.client)
    await sign_in(desktop, user.email)
    await desktop.wait_for_timeout(500)
    publish(db, user.id, "toast", {"message": "Your payment went through", "level": "success"})
    await db.commit()
    await expect(desktop.get_by_text("Your payment went through")).to_be_visible(timeout=10_000)
