"""Each role's home: clients see their jobs and company, contractors their profile, matches and proposals."""

from datetime import date

from app.marketplace.forms import JobInput
from app.marketplace.models import BudgetType, Visibility
from app.marketplace.services import create_job
from app.money import Money
from app.profiles.services import ensure_profile


async def post_job(db, user, title, skills, *, publish=True):
    job = await create_job(
        db,
        user,
        JobInput(title=title, description="A realistic description of the work to do.", skills=skills, budget_type=BudgetType.fixed,
                 budget=Money(120000), deadline=date(2030, 1, 1), visibility=Visibility.public),
        publish_now=publish,
    )  # fmt: skip
    await db.commit()
    return job


async def test_client_home_lists_their_jobs_and_company(client, db):
    await post_job(db, client.user, "Logo for a bakery", ["logo design"])
    page = await client.get("/dashboard")
    assert page.status_code == 200
    assert "Logo for a bakery" in page.text and "0 proposals" in page.text
    assert "Set up your company" in page.text


async def test_contractor_home_recommends_jobs_matching_their_skills(app, client, contractor, db):
    await post_job(db, client.user, "Logo for a bakery", ["logo design", "branding"])
    await post_job(db, client.user, "Fix our Django API", ["python", "django"])
    await post_job(db, client.user, "Hidden draft logo", ["logo design"], publish=False)
    profile = await ensure_profile(db, contractor.user)
    profile.skills = ["logo design"]
    await db.commit()
    page = await contractor.get("/dashboard")
    assert "Logo for a bakery" in page.text
    assert "Fix our Django API" not in page.text, "no skill overlap"
    assert "Hidden draft logo" not in page.text, "drafts are never recommended"
    assert "% complete" in page.text and "Payouts need a verified identity." in page.text


async def test_a_new_contractor_is_asked_to_set_up_a_profile(contractor):
    page = await contractor.get("/dashboard")
    assert "Set up your profile" in page.text and "Add skills to your profile" in page.text
