"""A contractor withdraws a waiting proposal; the client's comparison changes live; nobody else can."""

import json

from sqlalchemy import select

from app.events.models import OutboxEvent
from app.marketplace.models import ProposalStatus
from tests.marketplace.helpers import make_job, make_proposal
from tests.support.signals import refresh_url


async def test_withdrawing_tells_the_client_live_and_hides_the_decision_buttons(client, contractor, db):
    job = await make_job(db, client.user)
    proposal = await make_proposal(db, job, contractor.user)
    page = await contractor.get(f"/proposals/{proposal.id}")
    assert "Withdraw proposal" in page.text
    compare = await client.get(f"/jobs/{job.id}/proposals")
    status_url = refresh_url(compare.text, f"proposal-{proposal.id}")
    response = await contractor.post_form(f"/proposals/{proposal.id}/withdraw")
    assert response.status_code == 303
    await db.refresh(proposal)
    assert proposal.status == ProposalStatus.withdrawn
    event = await db.scalar(
        select(OutboxEvent).where(OutboxEvent.user_id == client.user.id, OutboxEvent.event == f"proposal-{proposal.id}")
    )
    assert event is not None and json.loads(event.data) == {"status": "withdrawn"}
    # The client's open comparison re-fetches the status line on that signal.
    line = await client.htmx("GET", status_url)
    assert 'data-status="withdrawn"' in line.text
    compare = await client.get(f"/jobs/{job.id}/proposals")
    assert 'data-status="withdrawn"' in compare.text
    assert f"/proposals/{proposal.id}/accept" not in compare.text
    # Withdrawing twice, or deciding on a withdrawn proposal, is refused.
    assert (await contractor.post_form(f"/proposals/{proposal.id}/withdraw")).status_code == 409
    assert (await client.post_form(f"/proposals/{proposal.id}/accept")).status_code == 409
    await db.refresh(proposal)
    assert proposal.status == ProposalStatus.withdrawn


async def test_htmx_refusals_come_back_as_a_toast(client, contractor, db):
    job = await make_job(db, client.user)
    proposal = await make_proposal(db, job, contractor.user)
    await contractor.post_form(f"/proposals/{proposal.id}/withdraw")
    response = await contractor.htmx("POST", f"/proposals/{proposal.id}/withdraw")
    assert response.status_code == 409
    assert "toast" in response.headers["hx-trigger"] and response.headers["hx-reswap"] == "none"
