"""The bell, live: the contractor's count rises without reload when the client writes, a toast
says what happened, and the count falls without reload when the contractor reads it; a burst of
events is one toast, not a screenful. On the narrowest phone we promise (360 px)."""

import re

import pytest
from playwright.async_api import expect

from app.conversations import services as conversations
from app.notifications import notify
from tests.conversations.helpers import clara_and_noor
from tests.support.browser import no_horizontal_scroll, sign_in
from tests.support.notifications import forget_notifications

pytestmark = pytest.mark.browser


async def client_writes(db, client, contractor, conversation, body: str, key: str) -> None:
    """The client sends a message through the conversation's verb, which notifies the contractor
    in the same transaction."""
    await conversations.send(db, conversation, client, body, client_key=key)
    await db.commit()


async def test_the_bell_rises_when_the_client_writes_and_falls_when_read(small_phone, db):
    page = small_phone
    client, contractor, contract, conversation = await clara_and_noor(db)
    await forget_notifications(db)  # the contract's own (sent, signed) are not what this looks at

    await sign_in(page, contractor.email)
    await page.goto(f"/contracts/{contract.id}")
    bell = page.locator("#bell")
    await expect(page.get_by_role("link", name="Notifications, no unread")).to_be_visible()
    assert await no_horizontal_scroll(page)

    await client_writes(db, client, contractor, conversation, "Is 8:00 fine for the shoot?", "bell-1")

    # Without reload: the bell's name and badge, and a toast in plain words.
    await expect(page.get_by_role("link", name="Notifications, 1 unread")).to_be_visible()
    await expect(bell.locator(".topbar__bell-badge")).to_have_text("1")
    toast = page.locator("#toasts .toast")
    await expect(toast).to_have_count(1)
    await expect(toast).to_contain_text("Clara Bakery sent you")

    # The bell is a link anyone can reach by keyboard.
    await bell.focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/notifications")
    await expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
    item = page.locator(".notification").first
    await expect(item).to_contain_text("Unread")
    assert await no_horizontal_scroll(page)

    await item.get_by_role("button", name=re.compile("^Mark as read")).click()
    await expect(page.locator(".notification--unread")).to_have_count(0)
    await expect(page.get_by_role("link", name="Notifications, no unread")).to_be_visible()  # without reload
    await expect(bell.locator(".topbar__bell-badge")).to_have_count(0)

    # Another message: up again; opening it goes to the conversation and reads it.
    await client_writes(db, client, contractor, conversation, "And bring the tripod.", "bell-2")
    await expect(page.get_by_role("link", name="Notifications, 1 unread")).to_be_visible()
    await expect(page.locator(".notification--unread")).to_have_count(1)  # the list refreshed itself
    await page.locator(".notification--unread .notification__link").click()
    await page.wait_for_url(f"**{conversation.path}")
    await expect(page.get_by_role("link", name="Notifications, no unread")).to_be_visible()
    assert await no_horizontal_scroll(page)
    assert page.problems.errors == [], page.problems.errors


async def test_a_burst_is_one_toast_and_the_bell_stays_right(small_phone, db):
    page = small_phone
    client, contractor, contract, _ = await clara_and_noor(db)
    await forget_notifications(db)
    await sign_in(page, contractor.email)
    await page.goto("/dashboard")
    await expect(page.get_by_role("link", name="Notifications, no unread")).to_be_visible()
    # Count every toast put up, including ones already gone (at most four stay on screen).
    await page.evaluate(
        """() => { window.toastsShown = 0;
                   new MutationObserver((changes) => changes.forEach((c) => { window.toastsShown += c.addedNodes.length; }))
                     .observe(document.getElementById('toasts'), {childList: true}); }"""
    )

    for n in range(100):
        await notify(db, contractor, "milestone.funded", link=f"/contracts/{contract.id}", milestone=f"Part {n}",
                     amount="€10.00")  # fmt: skip
    await db.commit()

    await expect(page.get_by_role("link", name="Notifications, 100 unread")).to_be_visible()
    await expect(page.locator("#bell .topbar__bell-badge")).to_have_text("99+")
    toasts = page.locator("#toasts .toast")
    await expect(toasts.filter(has_text=re.compile(r"^\d+ new notifications"))).not_to_have_count(0)
    # Held and folded together: a few at most, never one per event.
    assert await page.evaluate("() => window.toastsShown") <= 3
    assert await no_horizontal_scroll(page)
    assert page.problems.errors == [], page.problems.errors
