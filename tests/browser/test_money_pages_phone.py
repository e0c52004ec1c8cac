"""/payments for a client and /earnings for a contractor on a phone (390 px, then 360 px): nothing
scrolls sideways, the 12-month chart is an SVG image with its title and its numbers as a table
that a person can open, and /payments changes live when money moves (no reload)."""

import re

import pytest
from playwright.async_api import expect

from app.accounts.models import Role
from tests.browser.test_live_blocks import not_reloaded, open_and_wait
from tests.browser.test_small_phone import sideways
from tests.conftest import PHONE
from tests.statements.helpers import deal, fund, refund, release
from tests.support.browser import no_horizontal_scroll, sign_in
from tests.support.factories import make_user

pytestmark = pytest.mark.browser


async def chart_numbers(page, chart_id: str) -> list[str]:
    """Open the chart's table and read this month's row (the last one)."""
    chart = page.locator(f"#chart-{chart_id}")
    await expect(chart.locator("svg[role=img] > title")).to_have_count(1)
    await chart.get_by_text("The numbers, month by month").click()
    row = chart.locator("tbody tr").last
    await expect(row).to_be_visible()
    return [re.sub(r"\s+", " ", t).strip() for t in await row.locator("th, td").all_inner_texts()]


async def test_the_money_pages_fit_a_phone_and_carry_their_chart_and_table(phone, browser, live_server, db):
    client = await make_user(db, role=Role.client, name="Clara Bäckerei")
    contractor = await make_user(db, role=Role.contractor, name="Zoë Designer")
    contract, (design, build) = await deal(db, client, contractor)
    await fund(db, contract, client, design, build)
    await release(db, design, client, contractor)

    page = phone
    await sign_in(page, client.email)
    await page.get_by_role("button", name="Menu").click()
    await page.get_by_role("link", name="Payments").click()
    await expect(page).to_have_url(re.compile(r"/payments$"))
    marker = await open_and_wait(page, "/payments")
    assert await no_horizontal_scroll(page)
    total = page.locator("#payments-total-EUR")
    await expect(total.locator('[data-figure="paid_in"]')).to_have_text("€3,000.00")
    await expect(total.locator('[data-figure="held"]')).to_have_text("€2,000.00")
    svg_title = page.locator("#chart-payments-EUR svg[role=img] > title")
    assert await svg_title.text_content() == "Your payments per month in EUR, last 12 months"
    labelled = await page.locator("#chart-payments-EUR svg").get_attribute("aria-labelledby")
    assert labelled == "chart-payments-EUR-title chart-payments-EUR-desc"
    numbers = await chart_numbers(page, "payments-EUR")
    assert numbers[1:] == ["€3,000.00", "€1,000.00"]  # paid in, released (fee included)
    assert await no_horizontal_scroll(page)  # the open table fits too

    # Money moves elsewhere: the page follows without a reload.
    await refund(db, contract, build)
    await expect(total.locator('[data-figure="refunded"]')).to_have_text("€2,000.00", timeout=10_000)
    await expect(total.locator('[data-figure="held"]')).to_have_text("€0.00")
    await not_reloaded(page, marker)
    assert not await sideways(page, ["/payments", f"/contracts/{contract.id}/statement"])

    context = await browser.new_context(viewport=PHONE, base_url=live_server.url, is_mobile=True, has_touch=True)
    try:
        theirs = await context.new_page()
        await sign_in(theirs, contractor.email)
        await theirs.goto("/earnings")
        assert await no_horizontal_scroll(theirs)
        assert await theirs.locator("#chart-earnings-EUR svg[role=img] > title").count() == 1
        assert (await chart_numbers(theirs, "earnings-EUR"))[1:] == ["€900.00", "€0.00"]  # net of the fee
        assert await no_horizontal_scroll(theirs)
        assert not await sideways(theirs, ["/earnings", f"/contracts/{contract.id}/statement"])
    finally:
        await context.close()
    assert page.problems.errors == [], page.problems.errors
