"""Blocks that refresh themselves on a live signal (ADR 0023): someone else acts, the open page
changes without a reload, and forms in a refreshed block work (the page's own CSRF token)."""

import pytest
from playwright.async_api import expect

from app.accounts.models import Role
from app.companies import services as companies
from app.companies.forms import InvitationInput, read_company
from app.companies.models import InvitationKind
from app.leads import services as leads
from app.leads.forms import LeadInput
from app.leads.tasks import _dead_letter
from app.marketplace import services as marketplace
from tests.companies.test_create_company import ACME
from tests.conftest import ADMIN_TOTP
from tests.leads.test_api import LEAD
from tests.marketplace.helpers import make_job, make_proposal
from tests.support.browser import sign_in
from tests.support.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser


async def not_reloaded(page, marker) -> None:
    assert await page.evaluate("window.performance.timeOrigin") == marker, "the page reloaded"
    assert page.problems.errors == [], page.problems.errors


async def open_and_wait(page, url: str):
    await page.goto(url)
    await page.wait_for_function("document.body.hasAttribute('sse-connect')")
    await page.wait_for_timeout(500)  # the stream is open before anything is published
    return await page.evaluate("window.performance.timeOrigin")


async def test_a_decision_and_a_new_proposal_reach_both_open_pages(phone, desktop, db):
    client = await make_user(db, role=Role.client, name="Clara Bakery")
    contractor = await make_user(db, role=Role.contractor, name="Noor Designer")
    other = await make_user(db, role=Role.contractor, name="Omar Studio")
    job = await make_job(db, client)
    proposal = await make_proposal(db, job, contractor)

    await sign_in(phone, contractor.email)
    phone_marker = await open_and_wait(phone, f"/proposals/{proposal.id}")
    await expect(phone.locator(f"#proposal-{proposal.id}-status")).to_contain_text("The client has not decided yet")
    await sign_in(desktop, client.email)
    desktop_marker = await open_and_wait(desktop, f"/jobs/{job.id}/proposals")

    await make_proposal(db, job, other, amount="1300")  # another contractor applies
    await expect(desktop.locator("#new-proposals")).to_contain_text("New proposal from Omar Studio (€1,300.00)")
    await marketplace.decline(db, proposal.id, client, "We went with a local studio.")
    await db.commit()

    status = phone.locator(f"#proposal-{proposal.id}-status")
    await expect(status).to_contain_text("Declined.", timeout=10_000)
    await expect(status).to_contain_text("We went with a local studio.")
    await expect(desktop.locator(f"#proposal-{proposal.id}-status")).to_contain_text("Declined.")
    await not_reloaded(phone, phone_marker)
    await not_reloaded(desktop, desktop_marker)


async def test_an_accepted_invitation_changes_the_inviters_row(desktop, live_client, db, app):
    client = await make_user(db, role=Role.client, name="Clara Bakery")
    contractor = await make_user(db, role=Role.contractor, name="Noor Designer")
    await companies.create_company(db, client, read_company(ACME))
    await db.commit()
    membership = await companies.membership_of(db, client)
    key = app.state.settings.secret_key
    invitation = await companies.invite(
        db, membership, client, InvitationInput(InvitationKind.contractor, contractor.email, ""), secret_key=key
    )
    await db.commit()
    token = companies.invitation_token(key, invitation)

    await sign_in(desktop, client.email)
    marker = await open_and_wait(desktop, "/company")
    row = desktop.locator(f"#invitation-{invitation.id}")
    await expect(row).to_contain_text("Pending")
    await expect(row.get_by_role("button", name="Withdraw")).to_be_visible()

    await live_client.sign_in(contractor.email, PASSWORD)
    assert (await live_client.post_form(f"/invitations/{token}/accept")).status_code == 303

    await expect(row).to_contain_text("Accepted", timeout=10_000)
    await expect(row.get_by_role("button", name="Withdraw")).to_have_count(0)
    await not_reloaded(desktop, marker)


async def test_a_dead_letter_appears_for_the_admin_and_its_form_works(desktop, db, app):
    from app.accounts.mfa import enable, totp

    admin = await make_user(db, role=Role.admin, name="Ada Console")
    await enable(db, admin, ADMIN_TOTP, app.state.settings.secret_key)
    await db.commit()
    await desktop.goto("/login")
    await desktop.get_by_label("Email").fill(admin.email)
    await desktop.get_by_label("Password").fill(PASSWORD)
    await desktop.get_by_role("button", name="Sign in").click()
    await desktop.get_by_label("Sign-in code").fill(totp(ADMIN_TOTP).now())
    await desktop.get_by_role("button", name="Continue").click()
    await expect(desktop.get_by_role("heading", name="Overview")).to_be_visible()
    marker = await open_and_wait(desktop, "/admin/leads")
    await expect(desktop.get_by_text("Nothing here: every lead was processed.")).to_be_visible()

    lead = await leads.receive(db, LeadInput(**LEAD), source="form")
    await db.commit()
    await _dead_letter({"sessionmaker": app.state.sessionmaker}, lead.id, "category service unavailable", 3)

    row = desktop.locator(f"#lead-{lead.id}")
    await expect(row).to_contain_text("Logo for my bakery", timeout=10_000)
    await expect(desktop.get_by_text("Nothing here: every lead was processed.")).to_have_count(0)
    await not_reloaded(desktop, marker)
    # The refreshed row's form carries the page's CSRF token: discarding works.
    await row.get_by_role("button", name="Discard").click()
    await expect(desktop.get_by_text(f"Lead #{lead.id} was discarded.")).to_be_visible()
    assert desktop.problems.errors == [], desktop.problems.errors
