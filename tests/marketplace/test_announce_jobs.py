"""Opening a public job announces it live to contractors whose skills match (leads included)."""

import json
from datetime import date

from sqlalchemy import select

from app.events.models import OutboxEvent
from app.marketplace.forms import JobInput
from app.marketplace.models import BudgetType, Visibility
from app.marketplace.services import create_job, publish_job
from app.money import Money
from app.profiles.services import ensure_profile


def job_input(skills, visibility=Visibility.public):
    return JobInput(title="Logo for a bakery", description="A logo and colours for a neighbourhood bakery.", skills=skills,
                    budget_type=BudgetType.fixed, budget=Money(90000), deadline=date(2030, 1, 1), visibility=visibility)  # fmt: skip


async def notices_for(db, user_id):
    return (
        await db.scalars(
            select(OutboxEvent.data).where(OutboxEvent.user_id == user_id, OutboxEvent.event == "job-match")
        )
    ).all()


async def test_matching_contractors_hear_about_a_published_job_others_do_not(client, contractor, other_contractor, db):
    (await ensure_profile(db, contractor.user)).skills = ["logo design", "branding"]
    (await ensure_profile(db, other_contractor.user)).skills = ["python"]
    await db.commit()
    draft = await create_job(db, client.user, job_input(["logo design"]))
    await db.commit()
    assert await notices_for(db, contractor.user.id) == [], "a draft is announced to nobody"
    await publish_job(db, draft.id, client.user)
    await db.commit()
    (notice,) = await notices_for(db, contractor.user.id)
    assert json.loads(notice) == {"job_id": draft.id}  # a signal: the dashboard renders the notice
    assert await notices_for(db, other_contractor.user.id) == []


async def test_invite_only_jobs_are_not_announced(client, contractor, db):
    (await ensure_profile(db, contractor.user)).skills = ["logo design"]
    await db.commit()
    await create_job(db, client.user, job_input(["logo design"], Visibility.invite_only), publish_now=True)
    await db.commit()
    assert await notices_for(db, contractor.user.id) == []


async def test_the_dashboard_re_fetches_its_list_of_new_matches(client, contractor, other_contractor, db):
    from tests.support.signals import refresh_url

    (await ensure_profile(db, contractor.user)).skills = ["logo design"]
    await db.commit()
    page = await contractor.get("/dashboard")
    url = refresh_url(page.text, "job-match")
    assert '<div id="live-feed" class="live-feed"' in page.text
    empty = await contractor.htmx("GET", url)
    assert empty.status_code == 200 and "New job matching" not in empty.text
    job = await create_job(db, client.user, job_input(["logo design"]), publish_now=True)
    await db.commit()
    listed = await contractor.htmx("GET", url)
    assert f'New job matching your skills: <a href="/jobs/{job.id}">Logo for a bakery</a>' in listed.text
    assert refresh_url(listed.text, "job-match") == url  # the list keeps listening
    # Someone else's skills, or another role, never see it.
    assert "Logo for a bakery" not in (await other_contractor.htmx("GET", url)).text
    assert (await client.htmx("GET", url)).status_code == 404
    for hostile in ("abc", "-1", str(10**15), "9" * 40):
        assert (await contractor.htmx("GET", f"/dashboard/matches?since={hostile}")).status_code == 400
    assert (await contractor.htmx("GET", "/dashboard/matches?since=253402300799000")).status_code == 200
