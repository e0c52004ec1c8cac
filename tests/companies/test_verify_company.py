"""Company verification by admin review: pending → verified | rejected with a reason."""

from sqlalchemy import select

from app.companies.models import Company
from tests.companies.test_create_company import ACME


async def test_owner_asks_admin_verifies_and_the_badge_shows(client, admin, db):
    await client.post_form("/company", ACME)
    assert (await client.post_form("/company/verification")).status_code == 303
    company = await db.scalar(select(Company))
    assert company.verification == "pending"
    queue = await admin.get("/admin/companies")
    assert "Acme Robotics" in queue.text and "HRB 123456" in queue.text
    decided = await admin.post_form(f"/admin/companies/{company.id}/decide", {"decision": "verify"})
    assert decided.status_code == 303
    await db.refresh(company)
    assert company.verification == "verified" and company.verified_by == admin.user.id
    # Deciding again is refused: someone already decided.
    again = await admin.post_form(f"/admin/companies/{company.id}/decide", {"decision": "reject", "note": "late"})
    assert again.status_code == 409


async def test_a_rejection_needs_a_reason_that_the_owner_sees(client, admin, db):
    await client.post_form("/company", ACME)
    await client.post_form("/company/verification")
    company = await db.scalar(select(Company))
    await admin.post_form(f"/admin/companies/{company.id}/decide", {"decision": "reject", "note": ""})
    await db.refresh(company)
    assert company.verification == "pending", "no reason, no rejection"
    too_long = await admin.post_form(f"/admin/companies/{company.id}/decide", {"decision": "reject", "note": "x" * 501})
    assert too_long.status_code == 303
    assert "Keep the note under 500 characters." in (await admin.get("/admin/companies")).text
    await db.refresh(company)
    assert company.verification == "pending", "an overlong reason is refused, not cut"
    await admin.post_form(
        f"/admin/companies/{company.id}/decide",
        {"decision": "reject", "note": "The register shows a different address."},
    )
    await db.refresh(company)
    assert company.verification == "rejected"
    page = await client.get("/company")
    assert "The register shows a different address." in page.text
    assert (await client.post_form("/company/verification")).status_code == 303, "a rejected company can ask again"


async def test_changing_a_verified_identity_needs_a_new_check(client, admin, db):
    await client.post_form("/company", ACME)
    await client.post_form("/company/verification")
    company = await db.scalar(select(Company))
    await admin.post_form(f"/admin/companies/{company.id}/decide", {"decision": "verify"})
    await client.post_form("/company/details", {**ACME, "registration_number": "HRB 999999"})
    await db.refresh(company)
    assert company.verification == "unverified"


async def test_the_company_queue_is_admins_only(client, contractor):
    assert (await client.get("/admin/companies")).status_code == 404
    assert (await contractor.get("/admin/companies")).status_code == 404


async def test_contractors_see_the_company_badge_on_its_jobs(client, admin, contractor, db):
    from datetime import date

    from app.marketplace.forms import JobInput
    from app.marketplace.models import BudgetType, Visibility
    from app.marketplace.services import create_job
    from app.money import Money

    await client.post_form("/company", ACME)
    job = await create_job(
        db, client.user,
        JobInput(title="Shop photos", description="Product photos for our online shop.", skills=[], budget_type=BudgetType.fixed,
                 budget=Money(50000), deadline=date(2030, 1, 1), visibility=Visibility.public),
        publish_now=True,
    )  # fmt: skip
    await db.commit()
    assert 'data-status="unverified">Not verified' in (await contractor.get(f"/jobs/{job.id}")).text
    await client.post_form("/company/verification")
    company = await db.scalar(select(Company))
    await admin.post_form(f"/admin/companies/{company.id}/decide", {"decision": "verify"})
    page = await contractor.get(f"/jobs/{job.id}")
    assert "Acme Robotics" in page.text and 'data-status="verified">Verified' in page.text
