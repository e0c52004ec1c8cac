"""The contract journey in a real browser: the client hires on a phone and drafts the contract,
the contractor (desktop) asks for a change, the client edits and sends a new version, both sign,
and both download the signed PDF — whose text carries the version hash and the verification URL."""

import io
import re

import pytest
from playwright.async_api import expect
from pypdf import PdfReader
from sqlalchemy import select

from app.accounts.models import Role
from app.contracts.models import Contract, ContractVersion
from tests.marketplace.helpers import make_job, make_proposal
from tests.support.browser import no_horizontal_scroll, sign_in
from tests.support.factories import make_user

pytestmark = pytest.mark.browser


async def pdf_text(page, link_name: str) -> str:
    async with page.expect_download() as info:
        await page.get_by_role("link", name=link_name).click()
    download = await info.value
    data = open(await download.path(), "rb").read()  # noqa: ASYNC230 - a local temp file
    assert data.startswith(b"%PDF")
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


async def test_hire_draft_negotiate_sign_and_download(phone, desktop, db, live_server):
    client = await make_user(db, role=Role.client, name="Clara Bakery")
    contractor = await make_user(db, role=Role.contractor, name="Noor Designer")
    job = await make_job(db, client, title="Sourdough bakery logo")
    await make_proposal(db, job, contractor, amount="1200", milestones=[("Sketches", "500"), ("Final logo", "700")])

    # The client hires on a phone; the contract is drafted from the proposal.
    await sign_in(phone, client.email)
    await phone.goto(f"/jobs/{job.id}/proposals")
    await phone.get_by_role("link", name="Accept Noor Designer’s proposal").click()
    await phone.get_by_role("button", name="Accept and hire Noor Designer").click()
    await expect(phone.get_by_role("heading", name="Draft the contract")).to_be_visible()
    await expect(phone.locator("#milestone-total")).to_contain_text("€1,200.00")
    # The assistant has looked at the draft already: nothing says how the milestones are judged.
    review = phone.locator("#contract-review")
    await expect(review).to_contain_text("don't say how the work will be judged", timeout=15000)

    await phone.locator("#m0-criteria").fill("Three pencil sketches of different logo ideas")
    await phone.locator("#m1-criteria").fill("Final logo as SVG and PNG with two colour palettes")
    await phone.locator("#m1-amount").fill("800")
    await expect(phone.locator("#milestone-total")).to_contain_text("€1,300.00")  # live, while typing
    await expect(phone.locator("#save-status")).to_contain_text("All changes saved.")
    await expect(review).not_to_contain_text("don't say how the work will be judged", timeout=15000)
    await phone.locator("#m1-amount").fill("700")
    await expect(phone.locator("#milestone-total")).to_contain_text("€1,200.00")
    await phone.get_by_role("button", name="Add a milestone").click()
    await expect(phone.get_by_role("heading", name="Milestone 3")).to_be_visible()
    await phone.get_by_role("button", name="Remove milestone 3").click()
    await expect(phone.get_by_role("heading", name="Milestone 3")).to_have_count(0)
    assert await no_horizontal_scroll(phone)
    await phone.get_by_role("button", name="Send to Noor Designer for signature").click()
    await expect(phone.get_by_text("Version 1 sent to Noor Designer")).to_be_visible()

    # The contractor reads it and asks for a change; the client's page shows it without a reload.
    await sign_in(desktop, contractor.email)
    await desktop.get_by_role("navigation", name="Main").get_by_role("link", name="Contracts").click()
    await desktop.get_by_role("link", name=re.compile("Sourdough bakery logo")).click()
    await expect(desktop.get_by_role("heading", name="Sign version 1")).to_be_visible()
    await desktop.get_by_label("Ask Clara Bakery for a change").fill(
        "Please give me until 20 March for the final logo."
    )
    await desktop.get_by_role("button", name="Send request").click()
    await expect(phone.get_by_text("Please give me until 20 March for the final logo.")).to_be_visible()

    # The client edits and sends version 2; the contractor's page follows live.
    await phone.get_by_role("link", name="Propose changes").click()
    await phone.locator("#m1-due").fill("2030-03-20")
    await phone.get_by_role("button", name="Send my changes to Noor Designer").click()
    await expect(phone.get_by_text("Version 2 sent to Noor Designer")).to_be_visible()
    await expect(desktop.get_by_role("heading", name="Sign version 2")).to_be_visible()
    await expect(desktop.locator("#contract-live")).to_contain_text("20 Mar 2030")

    # Both sign version 2: the contract becomes active on both screens.
    await desktop.get_by_label("Your full legal name").fill("Noor Designer")
    await desktop.get_by_label(re.compile("I have read version 2")).check()
    await desktop.get_by_role("button", name="Sign version 2").click()
    await expect(desktop.get_by_text("You signed version 2")).to_be_visible()
    await phone.get_by_label("Your full legal name").fill("Clara Bakery")
    await phone.get_by_label(re.compile("I have read version 2")).check()
    await phone.get_by_role("button", name="Sign version 2").click()
    await expect(phone.get_by_text("Signed by both of you").first).to_be_visible()
    await expect(desktop.get_by_text("Signed by both of you").first).to_be_visible()

    contract = await db.scalar(select(Contract).execution_options(populate_existing=True))
    version = await db.get(ContractVersion, contract.current_version_id)
    assert version.number == 2

    # The signed PDF is rendered in the worker; the download appears on both pages when ready.
    for page in (phone, desktop):
        await expect(page.get_by_role("link", name=re.compile("Download the signed PDF"))).to_be_visible(timeout=30000)
        text = re.sub(r"\s+", "", await pdf_text(page, re.compile("Download the signed PDF")))
        assert version.terms_hash in text
        assert f"{live_server.url}/verify/{contract.public_id}".replace(" ", "") in text or (
            f"/verify/{contract.public_id}" in text
        )
    assert phone.problems.errors == [], phone.problems.errors
    assert desktop.problems.errors == [], desktop.problems.errors
