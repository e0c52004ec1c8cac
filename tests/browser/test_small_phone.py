"""Every main page of each persona fits a 360 px wide phone: nothing sticks out sideways."""

from datetime import date

import pytest

from app.accounts.models import Role
from app.companies.services import create_company
from app.marketplace.models import BudgetType, Visibility
from app.marketplace.services import JobInput, create_job
from app.money import Money
from app.profiles.services import add_portfolio_item, ensure_profile
from app.profiles.storage import storage_for
from tests.support.browser import no_horizontal_scroll, sign_in
from tests.support.factories import make_user

pytestmark = pytest.mark.browser
LONG = "Booking-system-for-a-physiotherapy-practice-with-a-very-long-name-that-does-not-wrap"


async def test_client_and_contractor_pages_fit_360_px(small_phone, db, app):
    client = await make_user(db, role=Role.client, name="Constança Albuquerque-Vasconcelos")
    contractor = await make_user(db, role=Role.contractor, name="Maximilian Oberndorfer-Schwarzenberg")
    await create_company(db, client, {"name": "Oberndorfer Präzisionsmaschinenbau GmbH", "country": "DE",
                                      "registration_number": "HRB 123456", "vat_id": "", "address": "Industriestraße 1"})  # fmt: skip
    job = await create_job(
        db, client,
        JobInput(title=LONG, description="x " * 200, skills=["python", LONG[:39]], budget_type=BudgetType.fixed,
                 budget=Money(123456789), deadline=date(2030, 1, 1), visibility=Visibility.public),
        publish_now=True,
    )  # fmt: skip
    profile = await ensure_profile(db, contractor)
    profile.headline, profile.skills = LONG, ["python"]
    await db.commit()
    await add_portfolio_item(
        db, storage_for(app.state.settings), contractor, title=LONG, url=f"https://example.com/{LONG}", image=None
    )
    await db.commit()

    await sign_in(small_phone, client.email)
    for path in (
        "/dashboard",
        "/company",
        "/company/intake",
        "/jobs/mine",
        "/jobs/new",
        f"/jobs/{job.id}",
        "/settings",
    ):
        await small_phone.goto(path)
        assert await no_horizontal_scroll(small_phone), path
    await small_phone.get_by_role("button", name="Sign out").click()

    await sign_in(small_phone, contractor.email)
    for path in (
        "/dashboard",
        "/jobs",
        f"/jobs/{job.id}",
        f"/jobs/{job.id}/apply",
        "/profile",
        "/profile/verification",
        "/proposals",
    ):
        await small_phone.goto(path)
        assert await no_horizontal_scroll(small_phone), path
    assert small_phone.problems.errors == [], small_phone.problems.errors


async def test_job_pages_fit_a_desktop_with_the_company_badge(desktop, db):
    client = await make_user(db, role=Role.client)
    await create_company(db, client, {"name": "Acme Robotics", "country": "DE",
                                      "registration_number": "HRB 1", "vat_id": "", "address": "Industriestraße 1"})  # fmt: skip
    job = await create_job(
        db, client,
        JobInput(title="Logo and brand colours for a neighbourhood bakery", description="x " * 50, skills=["python"], budget_type=BudgetType.fixed,
                 budget=Money(100000), deadline=date(2030, 1, 1), visibility=Visibility.public),
        publish_now=True,
    )  # fmt: skip
    await db.commit()
    await sign_in(desktop, client.email)  # the owner's view has the sidebar and the Manage card
    await desktop.goto(f"/jobs/{job.id}")
    assert await no_horizontal_scroll(desktop)


async def test_contract_pages_fit_360_px_with_long_words(small_phone, db, app):
    from app.contracts import services as contracts
    from app.contracts.documents import ensure_document
    from app.contracts.models import ContractVersion
    from app.marketplace.services import MilestoneInput, ProposalInput, accept, apply

    client = await make_user(db, role=Role.client, name="Constança Albuquerque-Vasconcelos")
    contractor = await make_user(db, role=Role.contractor, name="Maximilian Oberndorfer-Schwarzenberg")
    job = await create_job(
        db, client,
        JobInput(title=LONG, description=f"{LONG} " * 20, skills=["python"], budget_type=BudgetType.fixed,
                 budget=Money(123456789), deadline=date(2030, 1, 1), visibility=Visibility.public),
        publish_now=True,
    )  # fmt: skip
    proposal = await apply(
        db, job.id, contractor,
        ProposalInput(cover_letter="I have built booking systems for clinics for ten years.", amount=Money(123456789),
                      milestones=[MilestoneInput(LONG, Money(123456789), date(2030, 2, 1))]),
    )  # fmt: skip
    await accept(db, proposal.id, client)
    contract = await contracts.draft_from_proposal(db, proposal.id, client)
    version = await contracts.send(db, contract.id, client)
    await db.commit()
    await sign_in(small_phone, client.email)
    pages = ["/contracts", f"/contracts/{contract.id}", f"/contracts/{contract.id}/edit",
             f"/contracts/{contract.id}/versions", f"/contracts/{contract.id}/versions/1", f"/verify/{contract.public_id}"]  # fmt: skip
    for path in pages:
        await small_phone.goto(path)
        assert await no_horizontal_scroll(small_phone), path

    for person in (client, contractor):
        await contracts.sign(db, contract.id, person, version_hash=version.terms_hash, typed_name=person.name,
                             consent=True, context=contracts.SignContext(ip="203.0.113.9"))  # fmt: skip
    await db.commit()
    await ensure_document(db, app.state.settings, contract, await db.get(ContractVersion, version.id), final=True)
    await db.commit()
    for path in (f"/contracts/{contract.id}", f"/contracts/{contract.id}/amendments/new", "/dashboard"):
        await small_phone.goto(path)
        assert await no_horizontal_scroll(small_phone), path
    assert small_phone.problems.errors == [], small_phone.problems.errors
