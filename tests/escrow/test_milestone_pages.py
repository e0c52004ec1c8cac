"""The milestone cards on a signed contract's page, through the real routes: Fund (exactly the amount
shown, once per idempotency key), Submit work with files, Approve and release, Ask for a revision,
the delivered files for the two parties only — and that nobody else reaches any of it."""

import re

import pytest
from sqlalchemy import func, select

from app.contracts.models import Milestone, MilestoneStatus
from app.escrow import funding
from app.escrow.models import Funding, Submission, SubmissionFile
from app.files.models import StoredFile
from app.money import Money
from app.payments.provider import Payment, PaymentState
from tests.contracts.helpers import active_contract

PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64
FUND_BUTTON = '<button type="submit" class="button button--primary button--block">Fund</button>'


@pytest.fixture
async def deal(db, client, contractor):
    """An active contract between the client and contractor personas: Design €1,000.00, Build €2,000.00."""
    contract, _ = await active_contract(db, client.user, contractor.user)
    design, build = (
        await db.scalars(select(Milestone).where(Milestone.contract_id == contract.id).order_by(Milestone.position))
    ).all()
    return contract, design, build


async def status_of(db, m):
    return await db.scalar(
        select(Milestone.status).where(Milestone.id == m.id).execution_options(populate_existing=True)
    )


async def paid_in(db, contract, client_user, *milestones):
    """Funded the way the provider's webhook does it: a funding, then the provider's "succeeded"."""
    f = await funding.open_funding(db, contract.id, client_user, [m.id for m in milestones], provider="sandbox")
    await db.commit()
    payment = Payment(f"pay_{f.public_id}", f.public_id, Money(f.amount_minor, f.currency), PaymentState.succeeded)
    await funding.apply_payment(db, payment)
    await db.commit()
    return f


def card(page_text: str, milestone) -> str:
    """One milestone's card of the contract page."""
    match = re.search(rf'<li class="milestone-card" id="milestone-{milestone.id}">(.*?)</li>\s*(?:<li class="milestone-card"|</ol>)', page_text, re.S)  # fmt: skip
    assert match, f"no card for milestone {milestone.id}"
    return match.group(1)


async def submit(contractor, contract, m, message="Mock-ups for all five pages, in the shared folder.", files=()):
    return await contractor.post(
        f"/contracts/{contract.id}/milestones/{m.id}/submit",
        data={"_csrf_token": await contractor.csrf_token(), "message": message},
        files=[("files", f) for f in files] or None,
    )


async def test_each_milestone_has_its_own_card_with_its_state_and_the_clients_fund_button(client, contractor, deal):
    contract, design, build = deal
    page = (await client.get(f"/contracts/{contract.id}")).text
    mine = card(page, design)
    assert "Design" in mine and "€1,000.00" in mine and "Not funded yet" in mine
    assert FUND_BUTTON in mine and "You pay exactly <strong" in mine
    assert f'name="milestone" value="{design.id}"' in mine and 'name="amount" value="100000"' in mine
    assert 'name="currency" value="EUR"' in mine and 'name="idempotency_key"' in mine
    assert FUND_BUTTON in card(page, build)
    assert "Fund all 2 milestones" in page and "€3,000.00" in page
    theirs = (await contractor.get(f"/contracts/{contract.id}")).text
    assert "Not funded yet" in card(theirs, design)
    assert FUND_BUTTON not in theirs and "Fund all" not in theirs and "Submit work" not in theirs


async def fund(client, contract, *milestones, key="fund-1", amount=None, htmx=False):
    form = {
        "milestone": [str(m.id) for m in milestones],
        "amount": str(amount if amount is not None else sum(m.amount_minor for m in milestones)),
        "currency": "EUR",
        "idempotency_key": key,
    }
    if htmx:
        return await client.htmx("POST", f"/contracts/{contract.id}/milestones/fund", data=form)
    return await client.post_form(f"/contracts/{contract.id}/milestones/fund", form)


async def test_fund_goes_to_the_checkout_once_per_key_and_the_payment_can_be_continued_or_cancelled(client, db, deal):
    contract, design, build = deal
    first = await fund(client, contract, design)
    assert first.status_code == 303 and first.headers["location"].startswith("/checkout/")
    again = await fund(client, contract, design)  # a double click, a resent form: the same answer
    assert again.status_code == 303 and again.headers["location"] == first.headers["location"]
    opened = (await db.scalars(select(Funding))).all()
    assert [(f.status, f.amount_minor, f.currency, f.checkout_url) for f in opened] == [
        ("open", 100000, "EUR", first.headers["location"])
    ]
    mine = card((await client.get(f"/contracts/{contract.id}")).text, design)
    assert "Payment in progress" in mine and "Continue to payment" in mine and "Cancel this payment" in mine
    assert FUND_BUTTON not in mine
    continued = await fund(client, contract, design, key="fund-2")  # "Continue to payment"
    assert continued.status_code == 303 and continued.headers["location"] == first.headers["location"]
    assert await db.scalar(select(func.count()).select_from(Funding)) == 1
    cancelled = await client.post_form(f"/contracts/{contract.id}/milestones/payments/{opened[0].public_id}/cancel")
    assert cancelled.status_code == 303
    mine = card((await client.get(f"/contracts/{contract.id}")).text, design)
    assert "You cancelled this payment. Nothing was charged." in mine and FUND_BUTTON in mine
    assert await status_of(db, design) == MilestoneStatus.pending
    both = await fund(client, contract, design, build, key="fund-all", htmx=True)
    assert both.status_code == 200 and both.headers["hx-redirect"].startswith("/checkout/")
    newest = await db.scalar(select(Funding).order_by(Funding.id.desc()).limit(1))
    assert newest.amount_minor == 300000 and newest.status == "open"  # one payment for both


async def test_paid_with_the_sandbox_card_the_card_says_funded(app, client, contractor, db, deal):
    from tests.payments.conftest import delivered

    contract, design, _ = deal
    checkout = (await fund(client, contract, design)).headers["location"]
    page = await client.get(checkout)
    assert page.status_code == 200 and "€1,000.00" in page.text.replace("&#8364;", "€")
    paid = await client.post_form(f"{checkout}/pay", {"card_number": "4242 4242 4242 4242"})
    assert paid.status_code == 303 and paid.headers["location"] == f"/contracts/{contract.id}"
    f = await db.scalar(select(Funding).execution_options(populate_existing=True))
    await delivered(db, f.provider_payment_id)  # the worker's signed webhook, through /webhooks/sandbox
    await db.refresh(design)
    await db.refresh(contract)
    assert await status_of(db, design) == MilestoneStatus.funded
    for party in (client, contractor):
        mine = card((await party.get(f"/contracts/{contract.id}")).text, design)
        assert 'data-status="funded">Funded</span>' in mine and "Payment in progress" not in mine
    assert "Submit work" in card((await contractor.get(f"/contracts/{contract.id}")).text, design)


async def test_a_declined_card_says_so_in_the_card_and_the_milestone_can_be_funded_again(client, db, deal):
    from tests.payments.conftest import delivered

    contract, design, _ = deal
    checkout = (await fund(client, contract, design)).headers["location"]
    await client.post_form(f"{checkout}/pay", {"card_number": "4000 0000 0000 0002"})
    f = await db.scalar(select(Funding).execution_options(populate_existing=True))
    await delivered(db, f.provider_payment_id)
    await db.refresh(design)
    await db.refresh(contract)
    mine = card((await client.get(f"/contracts/{contract.id}")).text, design)
    assert "declined" in mine and "Nothing was charged; you can fund the milestone again." in mine
    assert "Not funded yet" in mine and FUND_BUTTON in mine
    again = await fund(client, contract, design, key="fund-again")
    assert again.status_code == 303 and again.headers["location"] != checkout


async def test_a_tampered_amount_currency_or_fraction_is_refused_in_place_and_starts_no_payment(client, db, deal):
    contract, design, build = deal
    url = f"/contracts/{contract.id}/milestones/fund"
    base = {"milestone": str(design.id), "amount": "100000", "currency": "EUR"}
    for n, (changed, words) in enumerate(
        [
            ({"amount": "1"}, "not the amount of these milestones"),
            ({"amount": "100000.5"}, "not a whole number of cents"),
            ({"amount": "1000.00"}, "not a whole number of cents"),
            ({"amount": "-100000"}, "not a whole number of cents"),
            ({"currency": "USD"}, "This contract is paid in EUR"),
            ({"currency": ""}, "The currency is missing"),
        ]
    ):
        answer = await client.post_form(url, base | changed | {"idempotency_key": f"tampered-{n}"})
        assert answer.status_code == 422, (changed, answer.status_code)
        assert words in card(answer.text, design), changed
    both = await fund(client, contract, design, build, amount=299999, key="tampered-all")  # "Fund all"
    above_the_cards = both.text.split('<ol class="milestone-cards')[0]
    assert both.status_code == 422 and "not the amount of these milestones" in above_the_cards
    assert await db.scalar(select(func.count()).select_from(Funding)) == 0
    assert await status_of(db, design) == MilestoneStatus.pending


async def test_the_contractor_submits_work_with_a_file_and_both_see_the_review_clock(client, contractor, db, deal):
    contract, design, _ = deal
    await paid_in(db, contract, client.user, design)
    page = (await contractor.get(f"/contracts/{contract.id}")).text
    assert "Funded" in card(page, design) and "What you delivered" in card(page, design)
    answer = await submit(contractor, contract, design, files=[("mockups.pdf", PDF_BYTES, "application/pdf")])
    assert answer.status_code == 303 and answer.headers["location"] == f"/contracts/{contract.id}#milestone-{design.id}"
    assert await status_of(db, design) == MilestoneStatus.submitted
    stored = (await db.scalars(select(StoredFile).join(SubmissionFile, SubmissionFile.file_id == StoredFile.id))).all()
    assert [(f.original_name, f.content_type, f.purpose) for f in stored] == [
        ("mockups.pdf", "application/pdf", "milestone_delivery")
    ]
    for party in (client, contractor):
        mine = card((await party.get(f"/contracts/{contract.id}")).text, design)
        assert "Submitted" in mine and "Auto-approves" in mine
        assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ" data-countdown>', mine)
        assert "(in 6 days 23 hours)" in mine or "(in 7 days)" in mine
        assert "Mock-ups for all five pages" in mine and "mockups.pdf" in mine
    client_card = card((await client.get(f"/contracts/{contract.id}")).text, design)
    assert "Approve and release" in client_card and "Ask for a revision" in client_card
    assert 'The contractor receives <strong class="amount">€900.00</strong>' in client_card
    assert "€100.00" in client_card  # the signed 10 % fee, shown before approving
    download = await client.get(f"/contracts/{contract.id}/milestones/{design.id}/files/{stored[0].id}")
    assert download.status_code == 200 and download.content == PDF_BYTES
    assert download.headers["content-disposition"].startswith('attachment; filename="mockups.pdf"')
    assert download.headers["content-type"] == "application/pdf"


async def test_an_empty_or_disguised_file_is_refused_with_a_clear_message_and_nothing_is_submitted(
    client, contractor, db, deal
):
    contract, design, _ = deal
    await paid_in(db, contract, client.user, design)
    empty = await submit(contractor, contract, design, files=[("empty.pdf", b"", "application/pdf")])
    assert empty.status_code == 422 and "This file is empty" in card(empty.text, design)
    disguised = await submit(contractor, contract, design, files=[("report.pdf", EXE_BYTES, "application/pdf")])
    assert disguised.status_code == 422
    assert "is not a PDF, JPEG, PNG, WebP, ZIP or plain text file, whatever its name says" in card(
        disguised.text, design
    )
    assert "Mock-ups for all five pages" in card(disguised.text, design)  # what was typed is kept
    no_message = await submit(contractor, contract, design, message="  ")
    assert no_message.status_code == 422 and "Say what you delivered" in card(no_message.text, design)
    assert await status_of(db, design) == MilestoneStatus.funded
    assert await db.scalar(select(func.count()).select_from(Submission)) == 0
    assert await db.scalar(select(func.count()).select_from(StoredFile)) == 0
    notes = await submit(contractor, contract, design, files=[("notes.txt", "Größen: 1–5\n".encode(), "text/plain")])
    assert notes.status_code == 303
    assert await db.scalar(select(StoredFile.content_type)) == "text/plain"


async def test_approve_and_release_shows_what_the_contractor_received(client, contractor, db, deal):
    contract, design, _ = deal
    await paid_in(db, contract, client.user, design)
    assert (await submit(contractor, contract, design)).status_code == 303
    url = f"/contracts/{contract.id}/milestones/{design.id}/approve"
    approved = await client.post_form(url, {"idempotency_key": "approve-design-1"})
    assert approved.status_code == 303
    assert await status_of(db, design) == MilestoneStatus.released
    again = await client.post_form(url, {"idempotency_key": "approve-design-1"})  # a double click replays
    assert again.status_code == 303 and again.headers["location"] == approved.headers["location"]
    for party in (client, contractor):
        mine = card((await party.get(f"/contracts/{contract.id}")).text, design)
        assert "Released" in mine and "Auto-approves" not in mine and "Approve and release" not in mine
        assert 'the contractor received <strong class="amount">€900.00</strong>' in mine
        assert 'fee of <span class="amount">€100.00</span> (10%)' in mine
    late = await client.post_form(url, {"idempotency_key": "approve-design-2"})
    assert late.status_code == 409 and "already approved and released" in card(late.text, design)
    by_htmx = await client.htmx("POST", url, data={"idempotency_key": "approve-design-3"})
    assert by_htmx.status_code == 409 and by_htmx.headers["hx-reswap"] == "none"
    assert "already approved and released" in by_htmx.headers["hx-trigger"]  # a toast, the page stays


async def test_asking_for_a_revision_needs_a_reason_and_shows_it_with_the_count(client, contractor, db, deal):
    contract, design, _ = deal
    await paid_in(db, contract, client.user, design)
    assert (await submit(contractor, contract, design)).status_code == 303
    url = f"/contracts/{contract.id}/milestones/{design.id}/revision"
    empty = await client.post_form(url, {"reason": " "})
    assert empty.status_code == 422 and "Say what should change" in card(empty.text, design)
    assert await status_of(db, design) == MilestoneStatus.submitted
    asked = await client.post_form(url, {"reason": "The booking page needs the clinic's opening hours."})
    assert asked.status_code == 303
    assert await status_of(db, design) == MilestoneStatus.revision_requested
    mine = card((await contractor.get(f"/contracts/{contract.id}")).text, design)
    assert "Revision asked" in mine and "Revisions asked: 1" in mine
    assert "The booking page needs the clinic&#39;s opening hours." in mine and "Submit work" in mine
    assert (await submit(contractor, contract, design, message="Opening hours added.")).status_code == 303
    assert (await client.post_form(url, {"reason": "And the map, please."})).status_code == 303
    assert "Revisions asked: 2" in card((await client.get(f"/contracts/{contract.id}")).text, design)


async def test_nul_bytes_and_a_megabyte_in_message_or_reason_get_a_4xx(client, contractor, db, deal):
    contract, design, _ = deal
    await paid_in(db, contract, client.user, design)
    for value in ("broken\x00text", "x" * 1_000_000):
        answer = await submit(contractor, contract, design, message=value)
        assert 400 <= answer.status_code < 500, answer.status_code
    assert await status_of(db, design) == MilestoneStatus.funded
    assert (await submit(contractor, contract, design)).status_code == 303
    url = f"/contracts/{contract.id}/milestones/{design.id}/revision"
    for value in ("broken\x00text", "x" * 1_000_000):
        answer = await client.post_form(url, {"reason": value})
        assert 400 <= answer.status_code < 500, answer.status_code
    assert await status_of(db, design) == MilestoneStatus.submitted


async def test_every_milestone_route_is_404_for_anyone_but_the_right_party(
    client, contractor, other_contractor, admin, db, deal
):
    contract, design, build = deal
    await paid_in(db, contract, client.user, design)
    assert (
        await submit(contractor, contract, design, files=[("a.pdf", PDF_BYTES, "application/pdf")])
    ).status_code == 303
    file_id = await db.scalar(select(SubmissionFile.file_id))
    open_one = await funding.open_funding(db, contract.id, client.user, [build.id], provider="sandbox")
    await db.commit()
    base = f"/contracts/{contract.id}/milestones"
    posts = {
        f"{base}/fund": {"milestone": str(build.id), "amount": "200000", "currency": "EUR", "idempotency_key": "k1"},
        f"{base}/payments/{open_one.public_id}/cancel": {},
        f"{base}/{design.id}/approve": {"idempotency_key": "k2"},
        f"{base}/{design.id}/revision": {"reason": "Not this."},
        f"{base}/{design.id}/submit": {"message": "Mine now."},
    }
    for stranger in (other_contractor, admin):
        for url, form in posts.items():
            assert (await stranger.post_form(url, form)).status_code == 404, (url, stranger.user.role)
        assert (await stranger.get(f"{base}/{design.id}/files/{file_id}")).status_code == 404
    # The wrong party of the contract, and a file through another milestone: 404 too.
    assert (await contractor.post_form(f"{base}/{design.id}/approve", {"idempotency_key": "k3"})).status_code == 404
    assert (await contractor.post_form(f"{base}/{design.id}/revision", {"reason": "x"})).status_code == 404
    assert (await client.post_form(f"{base}/{design.id}/submit", {"message": "x"})).status_code == 404
    assert (await client.get(f"{base}/{build.id}/files/{file_id}")).status_code == 404
    assert (await contractor.get(f"{base}/{design.id}/files/{file_id}")).status_code == 200
    admin_page = (await admin.get(f"/contracts/{contract.id}")).text
    assert f"/files/{file_id}" not in admin_page and FUND_BUTTON not in admin_page
    assert await status_of(db, design) == MilestoneStatus.submitted
    await db.refresh(open_one)
    assert open_one.status == "open"


async def test_both_dashboards_list_what_waits_with_the_review_clock_and_refresh_on_the_contracts_events(
    client, contractor, db, deal
):
    contract, design, build = deal
    home = (await client.get("/dashboard")).text
    assert "Milestones to fund (2)" in home and f"/contracts/{contract.id}#milestone-{build.id}" in home
    assert f'hx-trigger="sse:contract-{contract.id}"' in home
    await paid_in(db, contract, client.user, design)
    theirs = (await contractor.get("/dashboard")).text
    assert "Funded: ready for work (1)" in theirs and f"#milestone-{design.id}" in theirs
    assert (await submit(contractor, contract, design)).status_code == 303
    for party, heading in ((client, "Work to review (1)"), (contractor, "Waiting for the client’s review (1)")):
        block = await party.get("/dashboard/milestones", headers={"HX-Request": "true"})
        assert block.status_code == 200 and block.text.lstrip().startswith('<div id="dashboard-milestones"')
        assert heading in block.text and "Auto-approves" in block.text
        assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ" data-countdown>', block.text)
        assert f"/contracts/{contract.id}#milestone-{design.id}" in block.text
    await client.post_form(f"/contracts/{contract.id}/milestones/{design.id}/revision", {"reason": "Add the map."})
    assert "Revision asked (1)" in (await contractor.get("/dashboard/milestones")).text
    assert "Work to review" not in (await client.get("/dashboard/milestones")).text


async def test_a_zip_and_an_image_are_delivered_as_what_their_bytes_say(client, contractor, db, deal):
    import io
    import zipfile

    from app.profiles.seed import demo_png

    contract, design, _ = deal
    await paid_in(db, contract, client.user, design)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("site/index.html", "<h1>Clinic</h1>")
    files = [("site.zip", archive.getvalue(), "application/zip"), ("logo.txt", demo_png((1, 2, 3)).data, "text/plain")]
    too_many = await submit(contractor, contract, design, files=[("a.pdf", PDF_BYTES, "application/pdf")] * 6)
    assert too_many.status_code == 422 and "Attach at most 5 files" in card(too_many.text, design)
    assert (await submit(contractor, contract, design, files=files)).status_code == 303
    kept = (await db.execute(select(StoredFile.original_name, StoredFile.content_type).order_by(StoredFile.id))).all()
    assert [tuple(k) for k in kept] == [("site.zip", "application/zip"), ("logo.txt", "image/png")]
    late = await submit(contractor, contract, design, message="")  # from a stale tab: no form left to show it in
    assert late.status_code == 422 and "Say what you delivered" in card(late.text, design)


def test_the_review_clock_words_match_what_the_browser_writes():
    from datetime import UTC, datetime, timedelta

    from app.escrow.views import time_left

    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert time_left(now + timedelta(days=6, hours=23, minutes=59), now) == "in 6 days 23 hours"
    assert time_left(now + timedelta(days=1), now) == "in 1 day"
    assert time_left(now + timedelta(hours=5, minutes=12), now) == "in 5 hours 12 minutes"
    assert time_left(now + timedelta(seconds=20), now) == "in 1 minute"
    assert time_left(now - timedelta(seconds=1), now) == "any moment now"
