"""Proposals notify the other side through notify(): the client of a new proposal, the contractor
of the client's decision. The one who acted gets nothing; a refused decision keeps nothing."""

from app.marketplace.models import ProposalStatus
from tests.marketplace.helpers import make_job
from tests.support.notifications import notifications_of, only_notice
from tests.support.signals import signals

LETTER = "I have designed identities for three cafés; here is how I would work."


async def test_a_new_proposal_notifies_the_client_with_a_link_to_it(client, contractor, db, smtp_server):
    job = await make_job(db, client.user, title="Shop sign")
    response = await contractor.post_form(f"/jobs/{job.id}/apply", {"cover_letter": LETTER, "amount": "900"})
    assert response.status_code == 303
    row = await only_notice(db, client.user.id, "proposal.received")
    proposal_id = int(response.headers["location"].rsplit("/", 1)[1])
    assert row.title == f"{contractor.user.name} sent a proposal for “Shop sign”."
    assert row.link == f"/proposals/{proposal_id}"
    assert await notifications_of(db, contractor.user.id) == []
    [signal] = await signals(db, client.user.id, "notification")
    assert signal["message"] == row.title
    [mail] = await smtp_server.wait_for(1)
    assert mail["To"] == client.user.email and mail["Subject"] == "New proposal for “Shop sign”"
    assert "/unsubscribe/" in mail["List-Unsubscribe"]
    text = mail.get_body(("plain",)).get_content()
    assert f"/proposals/{proposal_id}" in text and "€900.00" in text
    # The link opens the proposal for the client.
    assert (await client.get(row.link)).status_code == 200


async def test_shortlisting_and_declining_notify_the_contractor(client, contractor, db):
    job = await make_job(db, client.user, title="Shop sign")
    await contractor.post_form(f"/jobs/{job.id}/apply", {"cover_letter": LETTER, "amount": "900"})
    [received] = await notifications_of(db, client.user.id)
    proposal_id = int(received.link.rsplit("/", 1)[1])
    assert (await client.post_form(f"/proposals/{proposal_id}/shortlist")).status_code == 303
    shortlisted = await only_notice(db, contractor.user.id, "proposal.shortlisted")
    assert shortlisted.title == "Your proposal for “Shop sign” is shortlisted."
    assert shortlisted.link == f"/proposals/{proposal_id}"
    declined = await client.post_form(f"/proposals/{proposal_id}/decline", {"note": "We chose a local studio."})
    assert declined.status_code == 303
    row = await only_notice(db, contractor.user.id, "proposal.declined")
    assert row.title == "Your proposal for “Shop sign” was declined." and row.data["note"] == "We chose a local studio."
    # The client acted each time: only their proposal.received is theirs.
    assert [n.kind for n in await notifications_of(db, client.user.id)] == ["proposal.received"]
    # Declining again is refused, and nothing more is kept.
    assert (await client.post_form(f"/proposals/{proposal_id}/decline")).status_code == 409
    assert len(await notifications_of(db, contractor.user.id)) == 2


async def test_accepting_notifies_the_hired_contractor_and_the_others_who_waited(
    client, contractor, other_contractor, db
):
    job = await make_job(db, client.user, title="Shop sign")
    await contractor.post_form(f"/jobs/{job.id}/apply", {"cover_letter": LETTER, "amount": "900"})
    await other_contractor.post_form(f"/jobs/{job.id}/apply", {"cover_letter": LETTER, "amount": "950"})
    mine, theirs = await notifications_of(db, client.user.id)
    accepted = await client.post_form(mine.link + "/accept")
    assert accepted.status_code == 303
    row = await only_notice(db, contractor.user.id, "proposal.accepted")
    assert row.title == f"{client.user.name} accepted your proposal for “Shop sign”." and row.link == mine.link
    other = await only_notice(db, other_contractor.user.id, "proposal.declined")
    assert other.link == theirs.link and other.data["note"] == "The client hired someone else for this job."
    assert len(await notifications_of(db, client.user.id)) == 2


async def test_a_refused_decision_keeps_no_notification(client, contractor, db):
    job = await make_job(db, client.user, title="Shop sign")
    await contractor.post_form(f"/jobs/{job.id}/apply", {"cover_letter": LETTER, "amount": "900"})
    [received] = await notifications_of(db, client.user.id)
    proposal_id = int(received.link.rsplit("/", 1)[1])
    assert (await contractor.post_form(f"/proposals/{proposal_id}/withdraw")).status_code == 303
    # Shortlisting a withdrawn proposal is an illegal step: refused, and the contractor hears nothing.
    assert (await client.post_form(f"/proposals/{proposal_id}/shortlist")).status_code == 409
    assert (await client.post_form(f"/proposals/{proposal_id}/accept")).status_code == 409
    assert await notifications_of(db, contractor.user.id) == []
    assert await signals(db, contractor.user.id, "notification") == []
    from app.marketplace.models import Proposal

    assert (await db.get(Proposal, proposal_id, populate_existing=True)).status == ProposalStatus.withdrawn
