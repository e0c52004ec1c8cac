"""The hiring journey in a real browser: a client posts a job on a desktop, a contractor finds it
by search on a phone and applies, the client compares and accepts, the contractor sees it live."""

import pytest
from playwright.async_api import expect

from app.accounts.models import Role
from tests.support.browser import no_horizontal_scroll, sign_in
from tests.support.factories import make_user

pytestmark = pytest.mark.browser


async def test_post_find_apply_compare_and_accept(desktop, phone, db):
    client = await make_user(db, role=Role.client, name="Clara Bakery")
    contractor = await make_user(db, role=Role.contractor, name="Noor Designer")

    # The client posts a job.
    await sign_in(desktop, client.email)
    await desktop.get_by_role("navigation", name="Main").get_by_role("link", name="Jobs").click()
    await desktop.get_by_role("link", name="Post a job").first.click()
    await desktop.get_by_label("Job title").fill("Sourdough bakery logo")
    await desktop.get_by_label("Description").fill(
        "A warm, hand-drawn logo for our sourdough bakery and its paper bags."
    )
    await desktop.get_by_label("Skills").fill("logo design, illustration")
    await desktop.get_by_label("Budget (total, or per hour)").fill("800")
    await desktop.get_by_role("button", name="Publish job").click()
    await expect(desktop.get_by_role("heading", name="Sourdough bakery logo")).to_be_visible()
    await expect(desktop.get_by_text("Your job is live")).to_be_visible()

    # The contractor finds it by searching on a phone: results update while typing, the URL follows.
    await sign_in(phone, contractor.email)
    await phone.goto("/jobs")
    await phone.get_by_label("Search jobs").fill("sourdough")
    await expect(phone.get_by_text("1 open job for “sourdough”")).to_be_visible()
    await phone.wait_for_url("**/jobs?q=sourdough**")
    assert await no_horizontal_scroll(phone)
    await phone.get_by_role("link", name="Sourdough bakery logo").click()
    await expect(phone.get_by_role("heading", name="Sourdough bakery logo")).to_be_visible()
    # Back to the results: the search is still there, as the URL says.
    await phone.go_back()
    await expect(phone.get_by_label("Search jobs")).to_have_value("sourdough")
    await expect(phone.get_by_text("1 open job for “sourdough”")).to_be_visible()
    await phone.get_by_role("link", name="Sourdough bakery logo").click()
    await phone.get_by_role("link", name="Apply for this job").click()
    await phone.get_by_label("Cover letter").fill(
        "I draw logos by hand and have done three bakeries in Lyon this year."
    )
    await phone.get_by_label("Your total price (EUR)").fill("750")
    await phone.get_by_label("Milestone 1 title").fill("Sketches")
    await phone.get_by_label("Milestone 1 amount").fill("300")
    await phone.get_by_label("Milestone 2 title").fill("Final logo")
    await phone.get_by_label("Milestone 2 amount").fill("450")
    await expect(phone.locator("#milestone-total")).to_contain_text("€750.00")
    assert await no_horizontal_scroll(phone)
    await phone.get_by_role("button", name="Send proposal").click()
    await expect(phone.get_by_role("heading", name="Your proposal")).to_be_visible()
    status = phone.locator(".proposal-status").first
    await expect(status).to_contain_text("Submitted")

    # The client compares and accepts; the contractor's page changes without a reload.
    await desktop.goto("/jobs/mine")
    await desktop.get_by_role("link", name="1 active").click()
    await expect(desktop.get_by_role("heading", name="Noor Designer")).to_be_visible()
    await expect(desktop.get_by_text("€750.00").first).to_be_visible()
    await expect(desktop.get_by_text("Sketches")).to_be_visible()
    await desktop.get_by_role("link", name="Accept Noor Designer’s proposal").click()
    await expect(desktop.get_by_role("heading", name="Hire Noor Designer?")).to_be_visible()
    await desktop.get_by_role("button", name="Accept and hire Noor Designer").click()
    # Hiring drafts the contract from the proposal and opens it for the client.
    await expect(desktop.get_by_role("heading", name="Draft the contract")).to_be_visible()
    await expect(desktop.get_by_label("Contract title")).to_have_value("Sourdough bakery logo")

    await expect(status).to_contain_text("Accepted")
    await expect(status).to_contain_text("The contract is drafted from it")
    assert desktop.problems.errors == [], desktop.problems.errors
    assert phone.problems.errors == [], phone.problems.errors
