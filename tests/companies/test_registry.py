"""The OpenCorporates-style registry adapter, against a local fake over real HTTP."""

from dataclasses import replace

import pytest
from sqlalchemy import select

from app.companies.models import Company
from app.companies.registry import same_name
from app.platform.resources import Resources
from app.worker.registry import TASKS
from tests.companies.test_create_company import ACME
from tests.support.fake_registry import FakeRegistry
from tests.support.notifications import notifications_of


@pytest.fixture(scope="module")
def registry():
    fake = FakeRegistry()
    fake.server.start()
    yield fake
    fake.server.stop()


async def run_check(settings, registry, company_id):
    resources = Resources.create(
        replace(
            settings, company_registry="opencorporates", company_registry_url=registry.url, company_registry_token="t0k"
        )
    )
    try:
        return await TASKS["check_company_registry"].function(resources.as_context(), company_id=company_id)
    finally:
        await resources.close()


async def ask(client, db, form=ACME):
    await client.post_form("/company", form)
    await client.post_form("/company/verification")
    return await db.scalar(select(Company))


def test_names_match_despite_case_accents_and_legal_form():
    assert same_name("Acme Robotics", "ACME ROBOTICS GmbH")
    assert same_name("Café Noir S.A.", "cafe noir sa")
    assert not same_name("Acme Robotics", "Acme Robots GmbH")


async def test_a_clear_match_verifies_at_once(client, db, settings, registry):
    registry.add("de", "HRB123456", "ACME ROBOTICS GmbH")
    company = await ask(client, db)
    assert await run_check(settings, registry, company.id) == "verified"
    await db.refresh(company)
    assert company.verification == "verified" and "ACME ROBOTICS GmbH" in company.registry_note
    assert registry.requests[-1] == "de/HRB123456?t0k"
    # The owner is notified with the verdict, in the same transaction.
    [row] = await notifications_of(db, client.user.id, "company.decided")
    assert row.title == "Acme Robotics is verified." and row.link == "/company"


async def test_a_mismatch_is_left_for_an_admin_with_the_registry_answer(client, admin, db, settings, registry):
    registry.add("de", "HRB123456", "Somebody Else AG")
    company = await ask(client, db)
    assert await run_check(settings, registry, company.id) == "left for an administrator"
    await db.refresh(company)
    assert company.verification == "pending"
    assert "Somebody Else AG" in (await admin.get("/admin/companies")).text
    assert await notifications_of(db, client.user.id) == [], "nothing decided yet: nothing to tell"


async def test_an_unknown_number_is_left_for_an_admin(client, db, settings, registry):
    company = await ask(client, db, {**ACME, "registration_number": "HRB 000001"})
    await run_check(settings, registry, company.id)
    await db.refresh(company)
    assert company.verification == "pending" and "no company with this number" in company.registry_note


async def test_a_registry_outage_raises_so_the_worker_retries(client, db, settings, registry):
    import httpx

    company = await ask(client, db)
    registry.fail = True
    try:
        with pytest.raises(httpx.HTTPStatusError):
            await run_check(settings, registry, company.id)
    finally:
        registry.fail = False
    await db.refresh(company)
    assert company.verification == "pending"
