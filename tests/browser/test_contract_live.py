"""The contract page refreshes itself when the other party acts, without losing what someone is
typing on it."""

import pytest
from playwright.async_api import expect

from app.accounts.models import Role
from tests.contracts.helpers import sent_contract, sign
from tests.support.browser import sign_in
from tests.support.factories import make_user

pytestmark = pytest.mark.browser


async def test_a_signature_arrives_live_and_a_half_written_request_survives(phone, db):
    client = await make_user(db, role=Role.client, name="Clara Bakery")
    contractor = await make_user(db, role=Role.contractor, name="Noor Designer")
    contract, version = await sent_contract(db, client, contractor)
    await sign_in(phone, contractor.email)
    await phone.goto(f"/contracts/{contract.id}")
    await expect(phone.get_by_text("Clara Bakery has not signed yet")).to_be_visible()
    await phone.get_by_label("Ask Clara Bakery for a change").fill("Could the first milestone")
    await phone.get_by_label("Your full legal name").fill("Noor Designer")

    await sign(db, contract.id, client, version.terms_hash)  # the client signs elsewhere
    await db.commit()

    await expect(phone.locator("#contract-status").get_by_text("Clara Bakery signed")).to_be_visible()
    await expect(phone.locator("#toasts")).to_contain_text("Clara Bakery signed “Booking website”.")
    await expect(phone.get_by_label("Ask Clara Bakery for a change")).to_have_value("Could the first milestone")
    await expect(phone.get_by_label("Your full legal name")).to_have_value("Noor Designer")
    assert phone.problems.errors == [], phone.problems.errors
