"""The sandbox checkout in a real browser, on a phone and a desktop: the client pays a milestone's
funding with the card that asks for a second step, confirms, comes back to the contract, and the
signed webhook funds the milestone."""

import asyncio
import re

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from app.accounts.models import Role
from app.contracts.models import Milestone
from app.escrow.funding import open_funding, start_checkout
from app.payments.providers import get_provider
from tests.contracts.helpers import active_contract
from tests.support.browser import no_horizontal_scroll, sign_in
from tests.support.factories import make_user

pytestmark = pytest.mark.browser


async def test_a_client_pays_on_the_sandbox_checkout_and_the_milestone_is_funded(any_viewport, db, app):
    page = any_viewport
    client = await make_user(db, role=Role.client, name="Alex Client")
    contractor = await make_user(db, role=Role.contractor)
    contract, _ = await active_contract(db, client, contractor)
    milestone = await db.scalar(
        select(Milestone).where(Milestone.contract_id == contract.id).order_by(Milestone.position).limit(1)
    )
    funding = await open_funding(db, contract.id, client, [milestone.id], provider="sandbox")
    await db.commit()
    url = await start_checkout(
        app.state.sessionmaker, get_provider(app.state.settings, app.state.sessionmaker), funding.id
    )
    milestone_id = milestone.id
    await sign_in(page, client.email)

    await page.goto(url)
    await expect(page.get_by_text("€1,000.00").first).to_be_visible()
    await expect(page.get_by_text("4242 4242 4242 4242")).to_be_visible()
    assert await no_horizontal_scroll(page)
    await page.get_by_label("Card number").fill("4111 1111 1111 1111")
    await page.get_by_role("button", name="Pay", exact=True).click()
    await expect(page.get_by_text("Use one of the sandbox test cards listed above.").first).to_be_visible()

    await page.get_by_label("Card number").fill("4000 0027 6000 3184")
    await page.get_by_role("button", name="Pay", exact=True).click()
    await expect(page.get_by_text("Your bank asks you to confirm this payment")).to_be_visible()
    await page.get_by_role("button", name="Confirm", exact=True).click()

    await expect(page).to_have_url(re.compile(rf"/contracts/{contract.id}$"))
    await expect(page.get_by_text("Payment received. We are confirming it now")).to_be_visible()
    for _ in range(200):  # the worker delivers the signed webhook; escrow funds the milestone
        db.expire_all()
        if (await db.get_one(Milestone, milestone_id)).status == "funded":
            break
        await db.rollback()
        await asyncio.sleep(0.05)
    assert (await db.get_one(Milestone, milestone_id)).status == "funded"
    assert page.problems.errors == [], page.problems.errors
