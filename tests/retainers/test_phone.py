"""On a 360 px phone a client funds the current period of a retainer from the contract page: the
Fund button, the sandbox checkout, back to the contract, and the card says Funded with the day it
is released. No sideways scroll anywhere."""

import pytest
from playwright.async_api import expect

from app.accounts.models import Role
from tests.retainers.helpers import periods, retainer_contract
from tests.support.browser import no_horizontal_scroll, sign_in
from tests.support.factories import make_user

pytestmark = pytest.mark.browser


async def test_a_client_funds_the_current_period_on_a_phone(small_phone, db):
    page = small_phone
    client = await make_user(db, role=Role.client, name="Constança Albuquerque-Vasconcelos")
    contractor = await make_user(db, role=Role.contractor, name="Maximilian Oberndorfer-Schwarzenberg")
    contract = await retainer_contract(db, client, contractor)
    current, *_ = await periods(db, contract)
    await sign_in(page, client.email)
    await page.goto(f"/contracts/{contract.id}")
    card = page.locator(f"#milestone-{current.id}")
    await expect(card.get_by_text("Not funded yet")).to_be_visible()
    assert await no_horizontal_scroll(page)
    await card.get_by_role("button", name="Fund", exact=True).click()
    await expect(page.get_by_text("€1,500.00").first).to_be_visible()
    assert await no_horizontal_scroll(page)
    await page.get_by_label("Card number").fill("4242 4242 4242 4242")
    await page.get_by_role("button", name="Pay", exact=True).click()
    await page.wait_for_url(f"**/contracts/{contract.id}")
    # The worker delivers the signed webhook; the page refreshes its block on the live signal.
    await expect(card.get_by_text("Funded", exact=True)).to_be_visible(timeout=15_000)
    await expect(card.get_by_text("Releases on")).to_be_visible()
    assert await no_horizontal_scroll(page)
    assert page.problems.errors == [], page.problems.errors
