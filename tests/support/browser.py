"""Steps shared by the browser tests."""

from __future__ import annotations

from tests.support.factories import PASSWORD


async def sign_in(page, email: str, password: str = PASSWORD) -> None:
    """Sign in through the real form and wait for the dashboard."""
    await page.goto("/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/dashboard**")


async def no_horizontal_scroll(page) -> bool:
    """Nothing sticks out sideways: the page fits the viewport (360–390 px phones included)."""
    return await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
