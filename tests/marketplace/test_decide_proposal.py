"""The client compares proposals and shortlists, declines or accepts; both sides see the status live."""

import asyncio
import json

from sqlalchemy import select

from app.errors import DomainError
from app.events.models import OutboxEvent
from app.marketplace import services
from app.marketplace.models import Job, JobStatus, Proposal, ProposalStatus
from tests.marketplace.helpers import make_job, make_proposal
from tests.support.signals import refresh_url, signals


async def test_the_client_compares_proposals_side_by_side(client, contractor, other_contractor, db):
    job = await make_job(db, client.user)
    await make_proposal(db, job, contractor.user, amount="1000", milestones=[("Sketches", "400"), ("Final", "600")])
    newest = await make_proposal(db, job, other_contractor.user, amount="1300")
    page = await client.get(f"/jobs/{job.id}/proposals")
    assert page.status_code == 200
    assert contractor.user.name in page.text and other_contractor.user.name in page.text
    assert "€1,000.00" in page.text and "€1,300.00" in page.text
    assert "Sketches" in page.text and "One payment at the end" in page.text
    assert page.text.count('data-status="submitted"') == 2
    assert refresh_url(page.text, f"job-{job.id}-proposals") == f"/jobs/{job.id}/proposals/new?after={newest.id}"
    # Contractors never see the comparison.
    assert (await contractor.get(f"/jobs/{job.id}/proposals")).status_code == 404


async def test_a_contractor_cannot_read_another_contractors_proposal(client, contractor, other_contractor, db):
    job = await make_job(db, client.user)
    theirs = await make_proposal(db, job, other_contractor.user)
    assert (await contractor.get(f"/proposals/{theirs.id}")).status_code == 404
    assert (await contractor.post_form(f"/proposals/{theirs.id}/withdraw")).status_code == 404
    assert (await contractor.post_form(f"/proposals/{theirs.id}/accept")).status_code == 404
    assert "I have designed" not in (await contractor.get("/proposals")).text
    assert (await other_contractor.get(f"/proposals/{theirs.id}")).status_code == 200
    assert (await client.get(f"/proposals/{theirs.id}")).status_code == 200
    await db.refresh(theirs)
    assert theirs.status == ProposalStatus.submitted


async def test_another_client_cannot_decide(client, contractor, db):
    from app.accounts.models import Role
    from tests.support.factories import make_user

    owner = await make_user(db, role=Role.client)
    job = await make_job(db, owner)
    proposal = await make_proposal(db, job, contractor.user)
    for action in ("shortlist", "decline", "accept"):
        assert (await client.post_form(f"/proposals/{proposal.id}/{action}")).status_code == 404
    assert (await client.get(f"/proposals/{proposal.id}/accept")).status_code == 404
    assert (await client.get(f"/proposals/{proposal.id}")).status_code == 404
    await db.refresh(proposal)
    assert proposal.status == ProposalStatus.submitted


async def test_shortlist_then_decline_with_a_note_the_contractor_reads(client, contractor, db):
    job = await make_job(db, client.user)
    proposal = await make_proposal(db, job, contractor.user)
    assert (await client.post_form(f"/proposals/{proposal.id}/shortlist")).status_code == 303
    await db.refresh(proposal)
    assert proposal.status == ProposalStatus.shortlisted
    response = await client.post_form(f"/proposals/{proposal.id}/decline", {"note": "We went with a local studio."})
    assert response.status_code == 303
    await db.refresh(proposal)
    assert proposal.status == ProposalStatus.declined and proposal.decline_note == "We went with a local studio."
    page = await contractor.get(f"/proposals/{proposal.id}")
    assert "We went with a local studio." in page.text and "Withdraw proposal" not in page.text
    events = (
        await db.scalars(select(OutboxEvent).where(OutboxEvent.user_id == contractor.user.id).order_by(OutboxEvent.id))
    ).all()
    # Each decision: the page's signal, and the contractor's notification (the bell, a toast).
    assert [e.event for e in events] == [f"proposal-{proposal.id}", "notification"] * 2
    assert [s["kind"] for s in await signals(db, contractor.user.id, "notification")] == [
        "proposal.shortlisted",
        "proposal.declined",
    ]
    assert await signals(db, contractor.user.id, f"proposal-{proposal.id}") == [
        {"status": "shortlisted"},
        {"status": "declined"},
    ]
    # The contractor's open page re-fetches its status line on that signal and reads the note.
    line = await contractor.htmx("GET", refresh_url(page.text, f"proposal-{proposal.id}"))
    assert line.status_code == 200 and 'data-status="declined"' in line.text and "local studio" in line.text
    assert "<html" not in line.text
    # A decided proposal can't be decided again.
    again = await client.post_form(f"/proposals/{proposal.id}/accept")
    assert again.status_code == 409
    await db.refresh(job)
    assert job.status == JobStatus.open


async def test_accepting_fills_the_job_declines_the_others_and_names_the_next_step(
    client, contractor, other_contractor, db
):
    job = await make_job(db, client.user)
    chosen = await make_proposal(db, job, contractor.user)
    other = await make_proposal(db, job, other_contractor.user)
    confirm = await client.get(f"/proposals/{chosen.id}/accept")
    assert confirm.status_code == 200 and "The other 1 waiting proposal is declined" in confirm.text
    await db.refresh(chosen)
    assert chosen.status == ProposalStatus.submitted  # asking is not accepting
    assert (await contractor.get(f"/proposals/{chosen.id}/accept")).status_code == 404
    response = await client.post_form(f"/proposals/{chosen.id}/accept")
    assert response.status_code == 303 and response.headers["location"].startswith("/contracts/")
    await db.refresh(chosen)
    await db.refresh(other)
    await db.refresh(job)
    assert chosen.status == ProposalStatus.accepted and chosen.decided_at is not None
    assert job.status == JobStatus.filled
    assert other.status == ProposalStatus.declined and "hired someone else" in other.decline_note
    page = await contractor.get(f"/proposals/{chosen.id}")
    assert "The contract is drafted from it" in page.text and "Withdraw proposal" not in page.text
    # The accepted proposal can no longer be withdrawn; the filled job takes no new proposals.
    assert (await contractor.post_form(f"/proposals/{chosen.id}/withdraw")).status_code == 409
    await db.refresh(chosen)
    assert chosen.status == ProposalStatus.accepted
    assert "Logo for a neighbourhood bakery" not in (await other_contractor.get("/jobs")).text
    # Those who applied can still read the filled job; it is gone from search for everyone.
    assert (await other_contractor.get(f"/jobs/{job.id}")).status_code == 200
    live = await db.scalar(
        select(OutboxEvent).where(
            OutboxEvent.user_id == other_contractor.user.id, OutboxEvent.event == f"proposal-{other.id}"
        )
    )
    assert live is not None and json.loads(live.data) == {"status": "declined"}


async def test_accept_and_withdraw_racing_never_both_succeed(app, client, contractor, db):
    for _ in range(5):
        job = await make_job(db, client.user)
        proposal = await make_proposal(db, job, contractor.user)

        async def run(action, proposal_id=proposal.id):
            async with app.state.sessionmaker() as session:
                try:
                    if action == "accept":
                        await services.accept(session, proposal_id, client.user)
                    else:
                        await services.withdraw(session, proposal_id, contractor.user)
                    await session.commit()
                    return action
                except DomainError:
                    await session.rollback()
                    return None

        results = await asyncio.gather(run("accept"), run("withdraw"))
        winners = [r for r in results if r]
        assert len(winners) == 1
        final = await db.scalar(
            select(Proposal).where(Proposal.id == proposal.id).execution_options(populate_existing=True)
        )
        final_job = await db.scalar(select(Job).where(Job.id == job.id).execution_options(populate_existing=True))
        if winners == ["accept"]:
            assert (final.status, final_job.status) == ("accepted", "filled")
        else:
            assert (final.status, final_job.status) == ("withdrawn", "open")


async def test_two_accepts_on_one_job_hire_only_once(app, client, contractor, other_contractor, db):
    job = await make_job(db, client.user)
    first = await make_proposal(db, job, contractor.user)
    second = await make_proposal(db, job, other_contractor.user)

    async def run(proposal_id):
        async with app.state.sessionmaker() as session:
            try:
                await services.accept(session, proposal_id, client.user)
                await session.commit()
                return proposal_id
            except DomainError:
                return None

    results = await asyncio.gather(run(first.id), run(second.id))
    assert len([r for r in results if r]) == 1
    statuses = (await db.scalars(select(Proposal.status).order_by(Proposal.status))).all()
    assert sorted(statuses) == ["accepted", "declined"]


async def test_the_comparison_shows_identity_checks_and_usual_rates(client, contractor, other_contractor, db):
    from app.profiles.services import ensure_profile

    profile = await ensure_profile(db, contractor.user)
    profile.kyc_status, profile.hourly_rate_minor, profile.headline = "verified", 6000, "Hand-drawn logos"
    await db.commit()
    job = await make_job(db, client.user)
    await make_proposal(db, job, contractor.user)
    await make_proposal(db, job, other_contractor.user)
    page = await client.get(f"/jobs/{job.id}/proposals")
    assert page.text.count("Identity verified") == 1
    assert page.text.count("Not verified yet") == 1
    assert "€60.00 / hour" in page.text
    assert f'href="/c/{profile.slug}"' in page.text


async def test_the_status_line_is_served_only_to_the_two_sides(client, contractor, other_contractor, db):
    from app.accounts.models import Role
    from tests.support.factories import make_user

    job = await make_job(db, client.user)
    proposal = await make_proposal(db, job, contractor.user)
    for side in (client, contractor):
        line = await side.htmx("GET", f"/proposals/{proposal.id}/status")
        assert line.status_code == 200 and 'data-status="submitted"' in line.text
    assert (await other_contractor.htmx("GET", f"/proposals/{proposal.id}/status")).status_code == 404
    stranger = await make_user(db, role=Role.client)
    await client.sign_in(stranger.email)
    assert (await client.htmx("GET", f"/proposals/{proposal.id}/status")).status_code == 404
    assert (await client.htmx("GET", f"/proposals/{proposal.id + 1000}/status")).status_code == 404


async def test_new_proposals_are_listed_for_the_owner_only(client, contractor, other_contractor, db):
    from app.accounts.models import Role
    from tests.support.factories import make_user

    job = await make_job(db, client.user)
    first = await make_proposal(db, job, contractor.user, amount="1000")
    page = await client.get(f"/jobs/{job.id}/proposals")
    url = refresh_url(page.text, f"job-{job.id}-proposals")
    assert "New proposal from" not in (await client.htmx("GET", url)).text
    second = await make_proposal(db, job, other_contractor.user, amount="1300")
    assert await signals(db, client.user.id, f"job-{job.id}-proposals") == [
        {"proposal_id": first.id},
        {"proposal_id": second.id},
    ]
    arrived = await client.htmx("GET", url)
    assert arrived.status_code == 200
    assert f"New proposal from {other_contractor.user.name} (€1,300.00)" in arrived.text
    assert f"New proposal from {contractor.user.name}" not in arrived.text
    assert refresh_url(arrived.text, f"job-{job.id}-proposals") == url  # it keeps listening
    assert (await contractor.htmx("GET", url)).status_code == 404
    stranger = await make_user(db, role=Role.client)
    await client.sign_in(stranger.email)
    assert (await client.htmx("GET", url)).status_code == 404
