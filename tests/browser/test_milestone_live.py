"""The milestone cards on a 360 px phone: the contractor's open page shows the client's funding and,
after the contractor submits in the card, the review clock counting down, then the release — each
arriving live, without a reload."""

import re

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from app.accounts.models import Role
from app.contracts.models import Milestone
from app.escrow import funding, lifecycle
from app.money import Money
from app.payments.provider import Payment, PaymentState
from tests.contracts.helpers import active_contract
from tests.support.browser import no_horizontal_scroll, sign_in
from tests.support.factories import make_user

pytestmark = pytest.mark.browser


async def test_funding_and_release_reach_the_contractors_open_page_live(small_phone, db):
    page = small_phone
    client = await make_user(db, role=Role.client, name="Clara Bakery")
    contractor = await make_user(db, role=Role.contractor, name="Noor Designer")
    contract, _ = await active_contract(db, client, contractor)
    design = await db.scalar(
        select(Milestone).where(Milestone.contract_id == contract.id).order_by(Milestone.position).limit(1)
    )
    await sign_in(page, contractor.email)
    await page.goto(f"/contracts/{contract.id}")
    card = page.locator(f"#milestone-{design.id}")
    await expect(card.locator(".badge")).to_have_text("Not funded yet")
    assert await no_horizontal_scroll(page)

    # The client pays elsewhere; the provider's answer is applied as the webhook applies it.
    f = await funding.open_funding(db, contract.id, client, [design.id], provider="sandbox")
    await db.commit()
    paid = Payment(f"pay_{f.public_id}", f.public_id, Money(f.amount_minor, f.currency), PaymentState.succeeded)
    await funding.apply_payment(db, paid)
    await db.commit()
    await expect(card.locator(".badge")).to_have_text("Funded")

    await card.get_by_label("What you delivered").fill("Mock-ups for all five pages, in the shared folder.")
    await card.get_by_role("button", name="Submit work").click()
    await expect(card.locator(".badge")).to_have_text("Submitted")
    clock = card.locator("time[data-countdown]")
    await expect(clock).to_have_attribute("datetime", re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"))
    await expect(card.locator("[data-countdown-left]")).to_have_text(re.compile(r"^\(in (6 days 23 hours|7 days)\)$"))
    # The browser rewrites the words from the datetime: moved two days closer, they follow.
    await page.evaluate(
        """() => { const t = document.querySelector('time[data-countdown]');
                   const end = new Date(Date.now() + 2 * 86400000 + 3 * 3600000 + 30000);
                   t.setAttribute('datetime', end.toISOString()); }"""
    )
    await page.evaluate("() => document.dispatchEvent(new Event('htmx:afterSettle'))")
    await expect(card.locator("[data-countdown-left]")).to_have_text("(in 2 days 3 hours)")
    assert await no_horizontal_scroll(page)

    await db.refresh(design)  # submitted by the page, not in this session
    await lifecycle.approve(db, design.id, client)  # the client approves elsewhere
    await db.commit()
    await expect(card.locator(".badge")).to_have_text("Released")
    await expect(card).to_contain_text("the contractor received €900.00")
    assert page.problems.errors == [], page.problems.errors


async def test_the_money_journey_fund_with_the_sandbox_card_submit_approve_seen_live_by_the_other_party(
    small_phone, desktop, db
):
    """The client on a phone, the contractor at a desk, each with the contract open."""
    client = await make_user(db, role=Role.client, name="Clara Bakery")
    contractor = await make_user(db, role=Role.contractor, name="Noor Designer")
    contract, _ = await active_contract(db, client, contractor)
    design_id = await db.scalar(
        select(Milestone.id).where(Milestone.contract_id == contract.id).order_by(Milestone.position).limit(1)
    )
    url = f"/contracts/{contract.id}"
    await sign_in(desktop, contractor.email)
    await desktop.goto(url)
    theirs = desktop.locator(f"#milestone-{design_id}")
    await expect(theirs.locator(".badge")).to_have_text("Not funded yet")

    await sign_in(small_phone, client.email)
    await small_phone.goto(url)
    mine = small_phone.locator(f"#milestone-{design_id}")
    await expect(mine).to_contain_text("You pay exactly €1,000.00")
    await mine.get_by_role("button", name="Fund", exact=True).click()
    await expect(small_phone).to_have_url(re.compile(r"/checkout/"))
    await expect(small_phone.get_by_text("€1,000.00").first).to_be_visible()
    await small_phone.get_by_label("Card number").fill("4242 4242 4242 4242")
    await small_phone.get_by_role("button", name="Pay", exact=True).click()
    await expect(small_phone).to_have_url(re.compile(rf"{url}$"))

    # The worker delivers the signed webhook; both open pages refresh their cards.
    await expect(mine.locator(".badge")).to_have_text("Funded", timeout=15000)
    await expect(theirs.locator(".badge")).to_have_text("Funded")
    await theirs.get_by_label("What you delivered").fill("Mock-ups for all five pages, in the shared folder.")
    await theirs.get_by_role("button", name="Submit work").click()
    await expect(theirs.locator(".badge")).to_have_text("Submitted")

    await expect(mine.locator(".badge")).to_have_text("Submitted")
    await expect(mine).to_contain_text("Auto-approves")
    await expect(mine).to_contain_text("Mock-ups for all five pages")
    assert await no_horizontal_scroll(small_phone)
    await mine.get_by_role("button", name="Approve and release").click()
    await expect(mine.locator(".badge")).to_have_text("Released")

    await expect(theirs.locator(".badge")).to_have_text("Released")
    await expect(theirs).to_contain_text("the contractor received €900.00")
    assert small_phone.problems.errors == [] and desktop.problems.errors == [], (
        small_phone.problems.errors,
        desktop.problems.errors,
    )
