"""A contractor with a released milestone, on a phone: opens /earnings, sets up the sandbox bank
account on the sandbox bank's page, presses "Withdraw", and watches the payout go to "Paid" live,
without reloading (the sandbox's webhook is held until the page is watched, then let through)."""

import asyncio
import re

import httpx
import pytest
from playwright.async_api import expect

from app.accounts.models import Role
from app.payments import tasks
from tests.browser.test_small_phone import sideways
from tests.payouts.helpers import earn, verify_identity
from tests.support.browser import no_horizontal_scroll, sign_in
from tests.support.factories import make_user

pytestmark = pytest.mark.browser


class PayoutWebhooksGate(httpx.AsyncBaseTransport):
    """Passes the sandbox's webhooks to the app, holding `payout.paid` ones until `opened`."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner, self.opened, self.held = inner, asyncio.Event(), asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if b'"payout.paid"' in await request.aread():
            self.held.set()
            await self.opened.wait()
        return await self.inner.handle_async_request(request)


@pytest.fixture
def gate():
    previous = tasks.send_webhooks_through(None)
    held = PayoutWebhooksGate(previous)
    tasks.send_webhooks_through(held)
    try:
        yield held
    finally:
        held.opened.set()
        tasks.send_webhooks_through(previous)


async def test_a_contractor_withdraws_on_a_phone_and_sees_it_paid_live(phone, db, gate):
    page = phone
    contractor = await make_user(db, role=Role.contractor, name="Noor Designer")
    await earn(db, contractor)
    await verify_identity(db, contractor)
    await sign_in(page, contractor.email)

    await page.get_by_role("button", name="Menu").click()
    await page.get_by_role("link", name="Earnings").click()
    await expect(page).to_have_url(re.compile(r"/earnings$"))
    balance = page.locator("#balance-EUR")
    await expect(balance.locator("[data-available]")).to_have_text("€900.00")
    assert await no_horizontal_scroll(page)

    # Where the money goes: the sandbox bank's own page, with its test IBANs.
    await page.get_by_role("button", name="Set up your bank account").click()
    await expect(page).to_have_url(re.compile(r"/sandbox/bank/"))
    bank_page = page.url
    await expect(page.get_by_text("DE89 3704 0044 0532 0130 00")).to_be_visible()
    await page.get_by_label("Account holder").fill("Noor Designer")
    await page.get_by_label("IBAN").fill("DE00 0000 0000 0000 0000 00")
    await page.get_by_role("button", name="Save bank account").click()
    await expect(page.locator("#field-iban-error")).to_contain_text("use one of the test IBANs")
    await page.get_by_label("IBAN").fill("DE89 3704 0044 0532 0130 00")
    await page.get_by_role("button", name="Save bank account").click()
    await expect(page).to_have_url(re.compile(r"/earnings$"))
    await expect(page.get_by_text("Bank account •••• 3000 is ready for payouts.")).to_be_visible()
    assert await no_horizontal_scroll(page)

    amount = balance.get_by_label("Amount")
    await expect(amount).to_have_value("900.00")
    await amount.fill("750")
    await balance.get_by_role("button", name="Withdraw").click()
    row = page.locator("[data-payout]").first
    await expect(row).to_contain_text("€750.00")
    await asyncio.wait_for(gate.held.wait(), 20)  # sent, and paid at the bank: its webhook waits
    await expect(row.locator(".badge")).to_have_text("On its way")
    await expect(balance.locator("[data-available]")).to_have_text("€150.00")
    await page.evaluate("() => { window.stillTheSamePage = true; }")

    gate.opened.set()
    await expect(row.locator(".badge")).to_have_text("Paid", timeout=15000)
    await expect(balance).to_contain_text("€750.00")  # "Paid out"
    assert await page.evaluate("() => window.stillTheSamePage === true"), "the page was reloaded"
    assert await no_horizontal_scroll(page)
    # The payouts list and the bank page fit the narrowest phone we promise, too.
    assert not await sideways(page, ["/earnings", bank_page])
    assert page.problems.errors == [], page.problems.errors
