"""Invitations: single-use hashed token, 7-day expiry, revocable, live status for the company."""

import re
from datetime import timedelta

from sqlalchemy import select, update

from app.accounts.models import Role
from app.companies.models import CompanyContractor, CompanyMember, Invitation
from app.db import utcnow
from app.notifications.models import Notification
from tests.accounts.helpers import link_in
from tests.companies.test_create_company import ACME
from tests.conftest import persona
from tests.support.notifications import only_notice
from tests.support.signals import refresh_url, signals


async def invite(client, smtp_server, email, kind="contractor", message="We'd love to work with you.", invitee=None):
    """The invitation's page. A new address gets the e-mail with the secret link; someone with an
    account (`invitee`) gets a notification whose link opens that page once they are signed in."""
    response = await client.post_form("/company/invitations", {"kind": kind, "email": email, "message": message})
    assert response.status_code == 303
    messages = await smtp_server.wait_for(1)
    mail = next(m for m in messages if m["To"] == email)
    smtp_server.messages.clear()
    if invitee is None:
        return link_in(mail, "/invitations/")
    assert "/invitations/" not in mail.get_body(("plain",)).get_content(), "no secret link in a notification"
    opened = await invitee.get(link_in(mail, "/invited/"))
    assert opened.status_code == 303
    return opened.headers["location"]


async def test_a_contractor_accepts_and_joins_the_contractor_list(client, contractor, db, smtp_server):
    await client.post_form("/company", ACME)
    link = await invite(client, smtp_server, contractor.user.email, invitee=contractor)
    token = link.rsplit("/", 1)[1]
    row = await db.scalar(select(Invitation))
    assert token not in row.token_hash and len(row.token_hash) == 64

    row_url = refresh_url((await client.get("/company")).text, f"invitation-{row.id}")
    assert row_url == f"/company/invitations/{row.id}"
    page = await contractor.get(link)
    assert "Acme Robotics invites you" in page.text and "We&#39;d love to work with you." in page.text
    accepted = await contractor.post_form(f"{link}/accept")
    assert accepted.status_code == 303
    assert await db.scalar(select(CompanyContractor.user_id)) == contractor.user.id

    # The inviter's open page updates live: a signal tells it to re-fetch that row.
    assert await signals(db, client.user.id, f"invitation-{row.id}") == [{"status": "accepted"}]
    fresh = await client.htmx("GET", row_url)
    assert fresh.status_code == 200 and "Accepted" in fresh.text and "Withdraw" not in fresh.text
    assert refresh_url(fresh.text, f"invitation-{row.id}") == row_url
    # Another company's member, and anyone without a company, get 404 for that row.
    assert (await contractor.htmx("GET", row_url)).status_code == 404

    company_page = await client.get("/company")
    assert contractor.user.email in company_page.text and "Accepted" in company_page.text

    # Single use.
    again = await contractor.post_form(f"{link}/accept")
    assert again.status_code == 409 and "already used" in again.text


async def test_an_expired_invitation_explains_itself_and_offers_to_ask_again(client, contractor, db, smtp_server):
    await client.post_form("/company", ACME)
    link = await invite(client, smtp_server, contractor.user.email, invitee=contractor)
    await db.execute(update(Invitation).values(expires_at=utcnow() - timedelta(minutes=1)))
    await db.commit()
    page = await contractor.get(link)
    assert "This invitation expired" in page.text and "Ask Acme Robotics for a new invitation" in page.text
    assert (await contractor.post_form(f"{link}/accept")).status_code == 409
    smtp_server.messages.clear()
    assert (await contractor.post_form(f"{link}/ask-again")).status_code == 303
    notice = await only_notice(db, client.user.id, "company.invitation_renewal")
    assert notice.link == "/company" and contractor.user.email in notice.title
    (mail,) = await smtp_server.wait_for(1)
    assert mail["To"] == client.user.email and contractor.user.email in mail["Subject"]
    assert "/unsubscribe/" in mail["List-Unsubscribe"]


async def test_a_withdrawn_invitation_cannot_be_used(client, contractor, db, smtp_server):
    await client.post_form("/company", ACME)
    link = await invite(client, smtp_server, contractor.user.email, invitee=contractor)
    row = await db.scalar(select(Invitation))
    assert (await client.post_form(f"/company/invitations/{row.id}/revoke")).status_code == 303
    response = await contractor.post_form(f"{link}/accept")
    assert response.status_code == 409
    assert await db.scalar(select(CompanyContractor)) is None


async def test_a_colleague_joins_as_member_and_can_leave_but_not_act_after(app, client, db, smtp_server):
    await client.post_form("/company", ACME)
    link = await invite(client, smtp_server, "colleague@example.test", kind="member")
    async with persona(app, db, Role.client, "colleague@example.test") as colleague:
        assert (await colleague.post_form(f"{link}/accept")).status_code == 303
        assert "Acme Robotics" in (await colleague.get("/company")).text
        assert (await colleague.post_form("/company/leave")).status_code == 303
        member = await db.scalar(select(CompanyMember).where(CompanyMember.user_id == colleague.user.id))
        assert member.left_at is not None
        # Having left, they can no longer invite for the company.
        response = await colleague.post_form("/company/invitations", {"kind": "contractor", "email": "x@example.test"})
        assert response.status_code == 404


async def test_the_wrong_kind_of_account_is_told_why(client, other_contractor, db, smtp_server):
    await client.post_form("/company", ACME)
    link = await invite(client, smtp_server, "colleague@example.test", kind="member")
    response = await other_contractor.post_form(f"{link}/accept")
    assert response.status_code == 409
    assert "Only client accounts can join a company" in response.text


async def test_another_companys_invitations_cannot_be_withdrawn(app, client, db, smtp_server):
    await client.post_form("/company", ACME)
    await invite(client, smtp_server, "someone@example.test")
    row = await db.scalar(select(Invitation))
    async with persona(app, db, Role.client, "rival@example.test") as rival:
        await rival.post_form("/company", {**ACME, "name": "Rival Ltd"})
        assert (await rival.post_form(f"/company/invitations/{row.id}/revoke")).status_code == 404


async def test_unknown_invitation_links_are_not_found(anonymous):
    assert (await anonymous.get("/invitations/not-a-real-token")).status_code == 404


async def test_visitors_are_offered_to_sign_up_as_the_right_role(client, anonymous, smtp_server):
    await client.post_form("/company", ACME)
    link = await invite(client, smtp_server, "new.contractor@example.test")
    page = await anonymous.get(link)
    assert re.search(
        r'href="/signup\?role=contractor&amp;email=new.contractor%40example.test&amp;next=%2Finvitations%2F[^"]+"',
        page.text,
    )
    assert f'href="/login?next={link}"' in page.text


async def test_a_new_contractor_signs_up_from_the_invitation_and_comes_back_to_accept(
    client, anonymous, db, smtp_server
):
    await client.post_form("/company", ACME)
    link = await invite(client, smtp_server, "fresh@example.test")
    form = await anonymous.get(f"/signup?role=contractor&email=fresh%40example.test&next={link}")
    assert 'value="fresh@example.test"' in form.text and f'value="{link}"' in form.text
    created = await anonymous.post_form(
        "/signup",
        {
            "name": "Fresh Person",
            "email": "fresh@example.test",
            "password": "velvet harbour lantern 8",
            "role": "contractor",
            "next": link,
        },
    )
    assert created.status_code == 303 and created.headers["location"] == link
    accepted = await anonymous.post_form(f"{link}/accept")
    assert accepted.status_code == 303
    assert await db.scalar(select(CompanyContractor)) is not None


async def test_an_invitation_to_an_invite_only_job_lets_the_contractor_see_and_apply(
    client, contractor, other_contractor, db, smtp_server
):
    from datetime import date

    from app.marketplace.forms import JobInput
    from app.marketplace.models import BudgetType, Visibility
    from app.marketplace.services import create_job
    from app.money import Money

    await client.post_form("/company", ACME)
    job = await create_job(
        db,
        client.user,
        JobInput(title="Private redesign", description="A confidential redesign of our booking flow.", skills=["ux"],
                 budget_type=BudgetType.fixed, budget=Money(250000), deadline=date(2030, 1, 1), visibility=Visibility.invite_only),
        publish_now=True,
    )  # fmt: skip
    await db.commit()
    assert (await contractor.get(f"/jobs/{job.id}")).status_code == 404, "invite-only: hidden before the invitation"

    page = await client.get("/company")
    assert f'<option value="{job.id}"' in page.text
    response = await client.post_form(
        "/company/invitations",
        {"kind": "contractor", "email": contractor.user.email, "message": "", "job_id": str(job.id)},
    )
    assert response.status_code == 303
    (mail,) = await smtp_server.wait_for(1)
    # They have an account: a notification says which job, and its link opens the invitation.
    assert mail["Subject"] == "Invitation to apply: “Private redesign”"
    assert "/unsubscribe/" in mail["List-Unsubscribe"]
    notice = await db.scalar(select(Notification).where(Notification.user_id == contractor.user.id))
    assert notice.kind == "job.invited" and "Private redesign" in notice.title
    assert notice.title == f"{client.user.name} of Acme Robotics invited you to apply to “Private redesign”."
    assert await db.scalar(select(Notification).where(Notification.user_id == client.user.id)) is None
    link = (await contractor.get(notice.link)).headers["location"]
    assert "Private redesign" in (await contractor.get(link)).text
    accepted = await contractor.post_form(f"{link}/accept")
    assert accepted.headers["location"] == f"/jobs/{job.id}"
    assert (await contractor.get(f"/jobs/{job.id}")).status_code == 200
    assert (await contractor.get(f"/jobs/{job.id}/apply")).status_code == 200
    assert (await other_contractor.get(f"/jobs/{job.id}")).status_code == 404, "still hidden from everyone else"


async def test_a_job_of_someone_else_cannot_be_named(app, client, db, smtp_server):

    from app.marketplace.forms import JobInput
    from app.marketplace.models import BudgetType, Visibility
    from app.marketplace.services import create_job
    from app.money import Money

    await client.post_form("/company", ACME)
    async with persona(app, db, Role.client, "rival@example.test") as rival:
        theirs = await create_job(
            db, rival.user,
            JobInput(title="Rival job", description="Not yours to invite anyone to.", skills=[], budget_type=BudgetType.fixed,
                     budget=Money(1000), deadline=None, visibility=Visibility.invite_only),
        )  # fmt: skip
        await db.commit()
    response = await client.post_form(
        "/company/invitations", {"kind": "contractor", "email": "x@example.test", "job_id": str(theirs.id)}
    )
    assert response.status_code == 422 and "Choose one of your own jobs." in response.text


async def test_a_job_number_that_is_not_one_is_refused_in_place(client, db, smtp_server):
    """ "²" passes str.isdigit() but not int(); a number past bigint names no job: neither is a 500,
    and neither sends an invitation that silently lost the job it was meant for."""
    await client.post_form("/company", ACME)
    for job_id in ("²", "9" * 30):
        response = await client.post_form(
            "/company/invitations", {"kind": "contractor", "email": "x@example.test", "job_id": job_id}
        )
        assert response.status_code == 422, job_id
        assert "Choose one of your own jobs" in response.text
    assert (await db.scalars(select(Invitation))).all() == []


async def test_an_invitation_row_is_served_to_its_company_only(client, contractor, db, smtp_server):
    from tests.support.factories import make_user

    await client.post_form("/company", ACME)
    await invite(client, smtp_server, contractor.user.email, invitee=contractor)
    row = await db.scalar(select(Invitation))
    mine = await client.htmx("GET", f"/company/invitations/{row.id}")
    assert mine.status_code == 200 and contractor.user.email in mine.text and "Withdraw" in mine.text
    assert (await client.htmx("GET", f"/company/invitations/{row.id + 1000}")).status_code == 404
    assert (await contractor.htmx("GET", f"/company/invitations/{row.id}")).status_code == 404
    stranger = await make_user(db, role=Role.client)
    await client.sign_in(stranger.email)
    assert (await client.htmx("GET", f"/company/invitations/{row.id}")).status_code == 404  # no company
    await client.post_form("/company", ACME | {"name": "Other Robotics", "registration_number": "HRB 999"})
    assert (await client.htmx("GET", f"/company/invitations/{row.id}")).status_code == 404  # another company
