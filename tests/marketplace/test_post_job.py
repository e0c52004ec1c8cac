"""Clients post jobs: draft or published, validation next to fields, only owners manage them."""

from sqlalchemy import select

from app.marketplace.models import Job, JobStatus
from tests.marketplace.helpers import make_job

GOOD = {
    "title": "Logo for a neighbourhood bakery",
    "description": "A logo, two colour palettes and a guide for the shop sign.",
    "skills": "Logo design, branding, logo design",
    "budget_type": "fixed",
    "budget": "1 200,50",
    "currency": "EUR",
    "deadline": "",
    "visibility": "public",
}


async def test_a_client_publishes_a_job_and_contractors_can_read_it(client, contractor, db):
    response = await client.post_form("/jobs/new", {**GOOD, "action": "publish"})
    assert response.status_code == 303
    job = await db.scalar(select(Job))
    assert response.headers["location"] == f"/jobs/{job.id}"
    assert job.status == JobStatus.open and job.published_at is not None
    assert job.budget_minor == 120050 and job.currency == "EUR"
    assert job.skills == ["logo design", "branding"]
    page = await contractor.get(f"/jobs/{job.id}")
    assert page.status_code == 200 and "Logo for a neighbourhood bakery" in page.text
    assert "Apply for this job" in page.text


async def test_a_draft_is_invisible_to_everyone_but_its_owner(client, contractor, anonymous, db):
    response = await client.post_form("/jobs/new", {**GOOD, "action": "draft"})
    assert response.status_code == 303
    job = await db.scalar(select(Job))
    assert job.status == JobStatus.draft
    assert (await client.get(f"/jobs/{job.id}")).status_code == 200
    assert (await contractor.get(f"/jobs/{job.id}")).status_code == 404
    assert (await anonymous.get(f"/jobs/{job.id}")).status_code == 404
    assert "Logo for a neighbourhood bakery" not in (await contractor.get("/jobs")).text

    assert (await client.post_form(f"/jobs/{job.id}/publish")).status_code == 303
    assert (await contractor.get(f"/jobs/{job.id}")).status_code == 200


async def test_bad_input_is_shown_next_to_the_fields_and_nothing_is_saved(client, db):
    response = await client.post_form(
        "/jobs/new", {**GOOD, "title": "Logo", "budget": "a lot", "deadline": "2001-01-01", "action": "publish"}
    )
    assert response.status_code == 422
    assert "at least 5 characters" in response.text
    assert "Enter an amount like 1200" in response.text
    assert "from today onwards" in response.text
    assert 'value="a lot"' in response.text  # what was typed is kept
    assert await db.scalar(select(Job)) is None


async def test_only_clients_post_and_only_the_owner_manages(client, contractor, anonymous, db, app):
    from app.accounts.models import Role
    from tests.support.factories import make_user

    assert (await contractor.get("/jobs/new")).status_code == 404
    assert (await contractor.post_form("/jobs/new", {**GOOD, "action": "publish"})).status_code == 404
    assert (await anonymous.get("/jobs/new")).status_code == 303
    other = await make_user(db, role=Role.client)
    job = await make_job(db, other)
    assert (await client.get(f"/jobs/{job.id}/edit")).status_code == 404
    assert (await client.post_form(f"/jobs/{job.id}/close")).status_code == 404
    assert (await client.post_form(f"/jobs/{job.id}/publish")).status_code == 404
    assert (await client.get(f"/jobs/{job.id}/proposals")).status_code == 404
    await db.refresh(job)
    assert job.status == JobStatus.open


async def test_an_unverified_client_can_save_a_draft_but_not_publish(app, db):
    from app.accounts.models import Role
    from tests.conftest import web_client
    from tests.support.factories import make_user

    user = await make_user(db, role=Role.client, verified=False)
    async with web_client(app) as browser:
        await browser.sign_in(user.email)
        refused = await browser.post_form("/jobs/new", {**GOOD, "action": "publish"})
        assert refused.status_code == 409 and "confirm your e-mail" in refused.text
        assert await db.scalar(select(Job)) is None
        assert (await browser.post_form("/jobs/new", {**GOOD, "action": "draft"})).status_code == 303


async def test_the_owner_edits_and_closes_a_job(client, contractor, db):
    job = await make_job(db, client.user)
    form = await client.get(f"/jobs/{job.id}/edit")
    assert form.status_code == 200 and 'value="1200.00"' in form.text
    response = await client.post_form(f"/jobs/{job.id}/edit", {**GOOD, "title": "Logo and sign for a bakery"})
    assert response.status_code == 303
    await db.refresh(job)
    assert job.title == "Logo and sign for a bakery"
    assert (await client.post_form(f"/jobs/{job.id}/close")).status_code == 303
    await db.refresh(job)
    assert job.status == JobStatus.closed
    assert (await contractor.get(f"/jobs/{job.id}")).status_code == 404
    assert (await client.get(f"/jobs/{job.id}/edit")).status_code == 409
    mine = await client.get("/jobs/mine")
    assert "Logo and sign for a bakery" in mine.text and 'data-status="closed"' in mine.text
