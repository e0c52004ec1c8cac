"""Company events notify through notify(): an invitation to an address that has an account, its
acceptance (to the inviter), and the verification decision (to the owner). A new address keeps
the e-mail with the secret link, and nobody is notified of their own act."""

from sqlalchemy import select

from app.companies.models import Company, Invitation
from tests.companies.test_create_company import ACME
from tests.companies.test_invitations import invite
from tests.support.notifications import notifications_of, only_notice
from tests.support.signals import signals


async def test_an_invitation_to_an_account_is_a_notification_and_its_acceptance_tells_the_inviter(
    client, contractor, other_contractor, db, smtp_server
):
    await client.post_form("/company", ACME)
    link = await invite(client, smtp_server, contractor.user.email, message="Come along.", invitee=contractor)
    row = await only_notice(db, contractor.user.id, "company.invitation")
    invitation = await db.scalar(select(Invitation))
    assert row.title == f"{client.user.name} invited you to work with Acme Robotics."
    assert row.link == f"/invited/{invitation.id}" and row.data["message"] == "Come along."
    assert link.startswith("/invitations/") and link.rsplit("/", 1)[1] not in str(row.data)
    # The link is the invitee's alone: anyone else, even signed in, gets 404.
    assert (await other_contractor.get(row.link)).status_code == 404
    assert (await client.get(row.link)).status_code == 404
    assert await notifications_of(db, client.user.id) == []

    assert (await contractor.post_form(f"{link}/accept")).status_code == 303
    accepted = await only_notice(db, client.user.id, "company.invitation_accepted")
    assert accepted.title == f"{contractor.user.name} accepted your invitation to Acme Robotics."
    assert accepted.link == "/company"
    # The page signal stays beside it.
    assert await signals(db, client.user.id, f"invitation-{invitation.id}") == [{"status": "accepted"}]
    assert [n.kind for n in await notifications_of(db, contractor.user.id)] == ["company.invitation"]
    # Using the link again is refused and tells nobody anything more.
    assert (await contractor.post_form(f"{link}/accept")).status_code == 409
    assert len(await notifications_of(db, client.user.id)) == 1


async def test_a_new_address_gets_the_invitation_email_and_no_notification(client, db, smtp_server):
    await client.post_form("/company", ACME)
    link = await invite(client, smtp_server, "newcomer@example.test")
    assert link.startswith("/invitations/")
    from app.notifications.models import Notification

    assert (await db.scalars(select(Notification))).all() == []


async def test_the_owner_hears_of_the_verification_decision(client, admin, db, smtp_server):
    await client.post_form("/company", ACME)
    await client.post_form("/company/verification")
    company = await db.scalar(select(Company))
    refused = await admin.post_form(f"/admin/companies/{company.id}/decide", {"decision": "reject", "note": ""})
    assert refused.status_code in (303, 422)
    assert await notifications_of(db, client.user.id) == [], "a refused decision keeps nothing"
    await admin.post_form(
        f"/admin/companies/{company.id}/decide", {"decision": "reject", "note": "The register shows another address."}
    )
    row = await only_notice(db, client.user.id, "company.decided")
    assert row.title == "Acme Robotics is not verified." and row.link == "/company"
    assert await notifications_of(db, admin.user.id) == []
    [mail] = await smtp_server.wait_for(1)
    assert mail["To"] == client.user.email and mail["Subject"] == "Acme Robotics is not verified"
    assert "The register shows another address." in mail.get_body(("plain",)).get_content()
    assert "/unsubscribe/" in mail["List-Unsubscribe"]
    # Deciding again is refused: nothing more is kept.
    assert (await admin.post_form(f"/admin/companies/{company.id}/decide", {"decision": "verify"})).status_code == 409
    assert len(await notifications_of(db, client.user.id)) == 1
