"""Contractors apply: cover letter, amount, milestones that must add up; one active proposal each."""

from sqlalchemy import func, select

from app.accounts.models import Role
from app.marketplace.models import BudgetType, Proposal, ProposalStatus, ProposedMilestone, Visibility
from tests.marketplace.helpers import make_job, make_proposal
from tests.support.factories import make_user

LETTER = "I have designed identities for three cafés and would start with a short call."


async def test_a_contractor_applies_with_milestones_and_the_client_is_told_live(client, contractor, db):
    job = await make_job(db, client.user)
    form = await contractor.get(f"/jobs/{job.id}/apply")
    assert form.status_code == 200 and "Milestone 1 title" in form.text
    response = await contractor.post_form(
        f"/jobs/{job.id}/apply",
        {
            "cover_letter": LETTER,
            "amount": "1000",
            "milestone_title_1": "Three directions",
            "milestone_amount_1": "400",
            "milestone_due_1": "",
            "milestone_title_2": "Final files",
            "milestone_amount_2": "600,00",
        },
    )
    assert response.status_code == 303
    proposal = await db.scalar(select(Proposal))
    assert response.headers["location"] == f"/proposals/{proposal.id}"
    assert proposal.status == ProposalStatus.submitted and proposal.amount_minor == 100000
    milestones = (await db.scalars(select(ProposedMilestone).order_by(ProposedMilestone.position))).all()
    assert [(m.title, m.amount_minor) for m in milestones] == [("Three directions", 40000), ("Final files", 60000)]
    page = await contractor.get(response.headers["location"])
    assert "Three directions" in page.text and 'data-status="submitted"' in page.text
    from app.events.models import OutboxEvent

    event = await db.scalar(select(OutboxEvent).where(OutboxEvent.user_id == client.user.id))
    assert event.event == f"job-{job.id}-proposals" and event.data == f'{{"proposal_id":{proposal.id}}}'


async def test_milestones_that_do_not_add_up_are_refused_with_the_sum(client, contractor, db):
    job = await make_job(db, client.user)
    response = await contractor.post_form(
        f"/jobs/{job.id}/apply",
        {"cover_letter": LETTER, "amount": "1000", "milestone_title_1": "All of it", "milestone_amount_1": "900"},
    )
    assert response.status_code == 422
    assert "Your milestones add up to €900.00, but you proposed €1,000.00" in response.text
    assert 'value="All of it"' in response.text
    assert await db.scalar(select(func.count()).select_from(Proposal)) == 0


async def test_the_milestone_total_is_computed_as_the_contractor_types(client, contractor, db):
    job = await make_job(db, client.user)
    response = await contractor.htmx(
        "POST",
        f"/jobs/{job.id}/apply/total",
        data={"milestone_amount_1": "400", "milestone_amount_2": "250.50", "milestone_amount_3": "oops"},
    )
    assert response.status_code == 200
    assert "<html" not in response.text
    assert "€650.50" in response.text and "2 milestones" in response.text


async def test_the_total_posted_without_htmx_shows_the_form_again_with_what_was_typed(client, contractor, db):
    """The total's URL is also reachable without JavaScript (or by a script): the whole page, not a 500."""
    job = await make_job(db, client.user)
    response = await contractor.post_form(
        f"/jobs/{job.id}/apply/total", {"cover_letter": LETTER, "milestone_amount_1": "400"}
    )
    assert response.status_code == 200
    assert "<html" in response.text and "Cover letter" in response.text and LETTER in response.text
    assert "€400.00" in response.text


async def test_a_second_active_proposal_is_refused_until_the_first_is_withdrawn(client, contractor, db):
    job = await make_job(db, client.user)
    first = await make_proposal(db, job, contractor.user)
    again = await contractor.post_form(f"/jobs/{job.id}/apply", {"cover_letter": LETTER, "amount": "900"})
    assert again.status_code == 409 and "already have a proposal" in again.text
    assert (await contractor.get(f"/jobs/{job.id}/apply")).headers["location"] == f"/proposals/{first.id}"
    assert await db.scalar(select(func.count()).select_from(Proposal)) == 1

    assert (await contractor.post_form(f"/proposals/{first.id}/withdraw")).status_code == 303
    await db.refresh(first)
    assert first.status == ProposalStatus.withdrawn
    assert (
        await contractor.post_form(f"/jobs/{job.id}/apply", {"cover_letter": LETTER, "amount": "900"})
    ).status_code == 303
    statuses = (await db.scalars(select(Proposal.status).order_by(Proposal.id))).all()
    assert statuses == ["withdrawn", "submitted"]


async def test_the_database_refuses_two_active_proposals_even_if_the_check_is_raced(client, contractor, db):
    import pytest
    from sqlalchemy.exc import IntegrityError

    job = await make_job(db, client.user)
    await make_proposal(db, job, contractor.user)
    db.add(
        Proposal(
            job_id=job.id,
            contractor_id=contractor.user.id,
            cover_letter="x",
            amount_minor=1,
            currency="EUR",
            status="shortlisted",
        )
    )
    with pytest.raises(IntegrityError):
        await db.commit()
    await db.rollback()


async def test_hourly_jobs_take_a_rate_without_milestones(client, contractor, db):
    job = await make_job(db, client.user, budget_type=BudgetType.hourly, budget="50", currency="GBP")
    form = await contractor.get(f"/jobs/{job.id}/apply")
    assert "Your hourly rate (GBP)" in form.text and "Milestone 1" not in form.text
    response = await contractor.post_form(f"/jobs/{job.id}/apply", {"cover_letter": LETTER, "amount": "45"})
    assert response.status_code == 303
    proposal = await db.scalar(select(Proposal))
    assert (proposal.amount_minor, proposal.currency) == (4500, "GBP")


async def test_who_cannot_apply(client, contractor, anonymous, db, app):
    job = await make_job(db, client.user)
    secret = await make_job(db, client.user, title="Invite-only job", visibility=Visibility.invite_only)
    draft = await make_job(db, client.user, title="Draft job", publish=False)
    data = {"cover_letter": LETTER, "amount": "900"}
    assert (await client.post_form(f"/jobs/{job.id}/apply", data)).status_code == 404
    assert (await anonymous.get(f"/jobs/{job.id}/apply")).status_code == 303
    assert (await contractor.post_form(f"/jobs/{secret.id}/apply", data)).status_code == 404
    assert (await contractor.post_form(f"/jobs/{draft.id}/apply", data)).status_code == 404
    from tests.conftest import web_client

    unverified = await make_user(db, role=Role.contractor, verified=False)
    async with web_client(app) as browser:
        await browser.sign_in(unverified.email)
        refused = await browser.post_form(f"/jobs/{job.id}/apply", data)
        assert refused.status_code == 409 and "confirm your e-mail" in refused.text
    assert await db.scalar(select(func.count()).select_from(Proposal)) == 0
